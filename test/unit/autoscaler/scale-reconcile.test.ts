import { afterEach, describe, expect, it } from 'vitest';
import { MemoryScheduler } from '../../doubles/memory-scheduler.js';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

/**
 * The saved desired count and the scheduler's count are two writes: a scheduler whose `scale` fails must
 * not leave the deployment behind (scale from zero would stall with its jobs waiting).
 */
describe('the autoscaler brings the scheduler to the desired count', () => {
  let server: TestServer;
  afterEach(async () => server.close());

  async function setup(min: number) {
    const scheduler = new MemoryScheduler();
    server = await createTestServer({ scheduler, env: { GANTRY_AUTOSCALER_INTERVAL_MS: '200' } });
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/deployments',
      headers: server.auth,
      payload: { name: 'flaky', image: 'img', gpu_type: 'none', min_replicas: min, max_replicas: 2, autoscaling: { metric: 'QueueBacklogPerWorker', target: 1 } },
    });
    expect(created.statusCode).toBe(200);
    return { scheduler, id: created.json().id as string };
  }

  const submit = async () => {
    const res = await server.app.inject({ method: 'POST', url: '/v1/queue/submit', headers: server.auth, payload: { model: 'flaky', payload: {} } });
    expect(res.statusCode).toBe(200);
    return res.json().requestId as string;
  };

  it('scales from zero although the first scale call failed, and the waiting job gets a replica', async () => {
    const { scheduler, id } = await setup(0);
    scheduler.failNext(new Error('scheduler unavailable'));
    const requestId = await submit();
    expect((await server.deps.deployments.record(id)).desired_replicas).toBe(1);
    const [replica] = await until(async () => {
      const live = await scheduler.replicas(id);
      return live.length === 1 ? live : undefined;
    });
    const token = (await server.deps.keys.createWorkerToken(id, replica!.replicaId)).key;
    const claimed = await server.app.inject({ method: 'GET', url: '/internal/v1/queue/retrieve?model=flaky&timeout=1s', headers: { authorization: `Bearer ${token}` } });
    expect(claimed.json().data?.request_id).toBe(requestId);
    expect(scheduler.scaleCalls.filter((c) => c.count === 1).length).toBe(1);
  });

  it('does not call the scheduler again while it runs the desired count', async () => {
    const { scheduler, id } = await setup(1);
    await new Promise((r) => setTimeout(r, 1_000)); // several ticks
    expect((await scheduler.replicas(id)).length).toBe(1);
    expect(scheduler.scaleCalls).toEqual([]);
  });

  it('backs off while the scheduler keeps failing, and catches up once it answers', async () => {
    const { scheduler, id } = await setup(0);
    let failures = 0;
    const scale = scheduler.scale.bind(scheduler);
    const failing = async () => {
      failures++;
      throw new Error('scheduler unavailable');
    };
    scheduler.scale = failing;
    await submit();
    // Ticks every 200 ms; retries after 1 s, 2 s, 4 s: a handful of calls, not one per tick.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(failures).toBeGreaterThanOrEqual(2);
    expect(failures).toBeLessThanOrEqual(4);
    scheduler.scale = scale;
    await until(async () => ((await scheduler.replicas(id)).length === 1 ? true : undefined), 15_000);
  }, 30_000);
});

async function until<T>(probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

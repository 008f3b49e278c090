import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryScheduler } from '../../doubles/memory-scheduler.js';
import { until } from '../../helpers/server-process.js';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

/** The autoscaler as the Deployments API shows it: desired_replicas, status and x_gantry_scaling_events. */
describe('autoscaling through the Deployments API', () => {
  let server: TestServer;
  let scheduler: MemoryScheduler;
  let depId: string;

  beforeEach(async () => {
    scheduler = new MemoryScheduler();
    server = await createTestServer({ scheduler, env: { GANTRY_AUTOSCALER_STABILIZATION_SECONDS: '0' } });
    const created = await user('POST', '/v1/deployments', {
      name: 'auto', image: 'img', gpu_type: 'none', min_replicas: 0, max_replicas: 3,
      autoscaling: { metric: 'QueueBacklogPerWorker', target: 1 },
    });
    depId = created.json().id;
  });
  afterEach(async () => server.close());

  function user(method: 'GET' | 'POST', url: string, payload?: unknown) {
    return server.app.inject({ method, url, headers: server.auth, ...(payload !== undefined ? { payload: payload as object } : {}) });
  }
  const view = async () => (await user('GET', '/v1/deployments/auto')).json();
  const events = async () => ((await view()).x_gantry_scaling_events ?? []) as Array<{ event: string; to: number; reason: string }>;

  it('scales up on submits, drains the replica holding a job, then scales to zero', async () => {
    expect((await view()).status).toBe('ScaledToZero');
    for (let i = 0; i < 3; i++) await user('POST', '/v1/queue/submit', { model: 'auto', payload: { i } });
    expect((await view()).desired_replicas).toBe(3);
    expect((await events()).filter((e) => e.event === 'ScaleUp').at(-1)).toMatchObject({ to: 3 });

    const [firstStopped] = await scheduler.scaleDownOrder(depId);
    const token = (await server.deps.keys.createWorkerToken(depId, firstStopped!)).key;
    const worker = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
      server.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
    const job = (await worker('GET', '/internal/v1/queue/retrieve?model=auto&timeout=1s')).json().data;
    await user('POST', '/v1/queue/clear', { model: 'auto' });
    await server.deps.autoscaler.tick();

    expect((await view()).desired_replicas).toBe(3); // the first replica to stop still holds a job
    expect((await events()).at(-1)).toMatchObject({ event: 'Draining' });
    await user('POST', '/v1/queue/submit', { model: 'auto', payload: {} });
    expect((await worker('GET', '/internal/v1/queue/retrieve?model=auto&timeout=200ms')).json()).toEqual({ data: null });
    await user('POST', '/v1/queue/clear', { model: 'auto' });

    await worker('POST', '/internal/v1/videos/status', { model: 'auto', request_id: job.request_id, status: 'done', payload: {} });
    await server.deps.autoscaler.settled();
    const after = await view();
    expect(after.desired_replicas).toBe(0);
    expect((await events()).at(-1)).toMatchObject({ event: 'ScaleDown', to: 0 });
    expect(after.status).toBe('ScaledToZero');
  });

  it('publishes its decisions as metrics', async () => {
    await user('POST', '/v1/queue/submit', { model: 'auto', payload: {} });
    const text = (await server.app.inject({ url: '/metrics' })).body;
    expect(text).toContain(`gantry_autoscaler_desired_replicas{deployment_id="${depId}"} 1`);
    expect(text).toMatch(new RegExp(`gantry_autoscaler_scale_total\\{deployment_id="${depId}",direction="up"\\} 1`));
  });

  it('wakes a deployment at zero on a direct request and records why', async () => {
    const res = await user('GET', '/v1/deployment-request/auto/health');
    expect(res.statusCode).toBe(503);
    expect((await view()).desired_replicas).toBe(1);
    expect((await events()).at(-1)?.reason).toMatch(/a request arrived at zero replicas/);
    const [starting] = await scheduler.scaleDownOrder(depId);
    scheduler.setReplica(starting!, { readySince: undefined, state: 'Waiting', reason: 'ContainerCreating' });
    expect((await view()).status).toBe('Scaling'); // brought back from zero: not a new revision (Updating)
    await until('the idle replica to go', async () => {
      await server.deps.autoscaler.tick();
      return (await view()).desired_replicas === 0 ? true : undefined;
    }, 10_000, 50);
  });

  it('forgets a deleted deployment: its events go, and nothing stays drained', async () => {
    await user('POST', '/v1/queue/submit', { model: 'auto', payload: {} });
    expect(await server.deps.state.get(`autoscaler/events/${depId}`)).toBeDefined();
    await server.app.inject({ method: 'DELETE', url: '/v1/deployments/auto', headers: server.auth });
    await server.deps.autoscaler.tick();
    expect(await server.deps.state.get(`autoscaler/events/${depId}`)).toBeUndefined();
  });
});

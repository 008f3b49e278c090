import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, startServerProcess, until, type ServerProcess } from '../helpers/server-process.js';
import { finishedJobs } from '../helpers/deploy-example.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

const SLOW_WORKER = path.join(REPO_ROOT, 'test/fixtures/projects/slow-worker');
const JOBS = 20;

interface Deployment {
  status: string;
  desired_replicas: number;
  replica_events: Record<string, { replica_status: string }>;
  x_gantry_scaling_events?: Array<{ at: string; event: string; from: number; to: number; reason: string }>;
}

/**
 * The autoscaler on the embedded default, end to end: a real server process, Sprocket workers as local
 * replicas, 20 slow jobs to a deployment with min_replicas 0 and max_replicas 4. It scales to 4 at the
 * first submits, drains replicas as the queue empties (no job loses its claim), and returns to zero after
 * the stabilization window, made short here with GANTRY_AUTOSCALER_STABILIZATION_SECONDS. One job is
 * long, so a scale-down meets a replica holding a claim (drained, or kept, whichever replica took it).
 */
describe('the autoscaler on the embedded default', () => {
  let server: ServerProcess;
  let key: string;

  beforeAll(async () => {
    server = await startServerProcess(mkdtempSync(path.join(tmpdir(), 'gantry-e2e-autoscaler-')), {
      GANTRY_AUTOSCALER_STABILIZATION_SECONDS: '3',
    });
    key = server.printedAdminKey!;
  });
  afterAll(async () => {
    await server.stop();
  });

  const call = <T = Record<string, unknown>>(method: string, url: string, body?: unknown) => callApi<T>(server, key, method, url, body);
  const deployment = async () => (await call<Deployment>('GET', '/v1/deployments/slow')).json;
  const running = (d: Deployment) => Object.values(d.replica_events).filter((e) => e.replica_status === 'Running').length;
  const submit = async (model: string, payload: Record<string, unknown>) => String((await call('POST', '/v1/queue/submit', { model, payload })).json.requestId);
  const finished = (model: string, ids: string[], ms: number, intervalMs: number) => finishedJobs(server, key, model, ids, ms, intervalMs);

  it('scales 0 → 4 for 20 slow jobs, drains, and returns to 0 after the window', async () => {
    const created = await call('POST', '/v1/deployments', {
      name: 'slow', image: 'local/slow', gpu_type: 'none', min_replicas: 0, max_replicas: 4,
      termination_grace_period_seconds: 10,
      autoscaling: { metric: 'QueueBacklogPerWorker', target: 1 },
      x_gantry_source: { path: SLOW_WORKER },
    });
    expect(created.status).toBe(200);
    expect((await deployment()).status).toBe('ScaledToZero');

    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      // The last job is long: whichever replica takes it must not be stopped before it ends.
      ids.push(await submit('slow', { seconds: i === JOBS - 1 ? 12 : 2, n: i }));
    }
    expect((await deployment()).desired_replicas).toBe(4); // at once: no tick, no replica started yet
    await until('4 local replicas running', async () => (running(await deployment()) === 4 ? true : undefined), 240_000, 500);

    const statuses = await finished('slow', ids, 180_000, 1_000);
    expect(statuses.map((s) => s.status)).toEqual(Array(JOBS).fill('done'));
    expect(statuses.every((s) => s.retries === 0)).toBe(true); // no replica was stopped holding a claim

    const final = await until('the deployment back at zero', async () => {
      const d = await deployment();
      return d.status === 'ScaledToZero' ? d : undefined;
    }, 120_000, 500);
    expect(final.desired_replicas).toBe(0);
    const events = final.x_gantry_scaling_events ?? [];
    expect(events.some((e) => e.event === 'ScaleUp' && e.to === 4)).toBe(true);
    const toZero = events.filter((e) => e.event === 'ScaleDown').at(-1)!;
    expect(toZero).toMatchObject({ to: 0 });
    expect(Date.parse(toZero.at)).toBeGreaterThanOrEqual(Date.parse(String(statuses.at(-1)!.done_at)));
    const metrics = await (await server.fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/gantry_autoscaler_desired_replicas\{deployment_id="dep_[^"]+"\} 0/);
    await call('DELETE', '/v1/deployments/slow');
  }, 600_000);

  it('keeps the remaining replicas working after a partial scale-down (each has its own Sprocket markers)', async () => {
    const created = await call('POST', '/v1/deployments', {
      name: 'partial', image: 'local/partial', gpu_type: 'none', min_replicas: 1, max_replicas: 2,
      termination_grace_period_seconds: 10,
      autoscaling: { metric: 'QueueBacklogPerWorker', target: 1 },
      x_gantry_source: { path: SLOW_WORKER },
    });
    expect(created.status).toBe(200);
    const view = async () => (await call<Deployment>('GET', '/v1/deployments/partial')).json;
    const statusesOf = async (ids: string[]) => (await finished('partial', ids, 120_000, 500)).map((s) => s.status);
    await until('the first replica running', async () => (running(await view()) === 1 ? true : undefined), 240_000, 500);
    const first = [await submit('partial', { seconds: 1 }), await submit('partial', { seconds: 1 })];
    expect((await view()).desired_replicas).toBe(2);
    expect(await statusesOf(first)).toEqual(['done', 'done']);
    await until('back to one replica', async () => {
      const d = await view();
      return d.desired_replicas === 1 && Object.keys(d.replica_events).length === 1 ? true : undefined;
    }, 60_000, 500);
    // The stopped replica must not have told the one left to stop claiming: it alone runs the next job.
    expect((await call('PATCH', '/v1/deployments/partial', { max_replicas: 1 })).status).toBe(200);
    expect(await statusesOf([await submit('partial', { seconds: 1 })])).toEqual(['done']);
    await call('DELETE', '/v1/deployments/partial');
  }, 600_000);
});

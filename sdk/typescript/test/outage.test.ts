import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test/helpers/server-process.js';
import { StandInGantry } from './doubles/stand-in-gantry.js';
import { startWorker, stopWorker, untilListening, type WorkerProcess } from './helpers/worker-process.js';

const OUTAGE_MS = 20_000;

/**
 * Workers ride out a control-plane restart (issue 14 item 3): the stand-in Gantry closes its listener
 * (real connection refusals) and comes back on the same port. A finished job's `done` update is retried
 * with backoff until it lands, once, with the result intact, and nothing is claimed before it has. A 409
 * is final; an update not delivered within GANTRY_SPROCKET_STATUS_RETRY_SECONDS is given up with a log
 * line, and the worker restarts so that the server retries the job.
 */
describe('a worker while the control plane is away', () => {
  let gantry: StandInGantry;
  let worker: WorkerProcess | undefined;

  afterEach(async () => {
    worker?.child.kill('SIGKILL');
    worker = undefined;
    await gantry?.stop();
  });

  async function start(env: Record<string, string> = {}): Promise<WorkerProcess> {
    gantry = await new StandInGantry().listen();
    worker = await startWorker({ env: { TOGETHER_API_BASE_URL: gantry.base, TOGETHER_DEPLOYMENT_NAME: 'm', GANTRY_SPROCKET_HEARTBEAT_SECONDS: '0.5', ...env } });
    await untilListening(worker);
    await until('the worker to be healthy', async () => ((await fetch(`${worker!.url}/health`)).status === 200 ? true : undefined), 30_000, 100);
    return worker;
  }

  const claimed = () => until('the job to be claimed', async () => (gantry.jobs.length === 0 ? true : undefined), 15_000, 20);
  const terminal = (id: string, ms = 20_000) =>
    until(`job ${id} to end`, async () => gantry.terminals(id)[0], ms, 50, () => `\n${worker?.output()}`);

  it('lands the done update once, with the result intact, after a 20-second outage, and claims nothing before', { timeout: 60_000 }, async () => {
    const w = await start();
    gantry.submit('r1', { do: 'sleep', ms: 2000 });
    await claimed();
    await gantry.stop(); // predict is still running: its heartbeats, then its done, meet refused connections
    await sleep(OUTAGE_MS);
    expect(gantry.terminals('r1')).toEqual([]);
    const backAt = performance.now();
    await gantry.listen();
    const final = await terminal('r1');
    expect(final).toEqual({ model: 'm', request_id: 'r1', status: 'done', payload: { slept: 2000 } });
    // One job at a time: the first request after the outage is that update, not a claim.
    expect(gantry.events.filter((e) => e.at >= backAt).map((e) => e.kind)[0]).toBe('status');
    expect((await fetch(`${w.url}/health`)).status).toBe(200);
    gantry.submit('r2', { n: 2 });
    expect((await terminal('r2')).payload).toMatchObject({ echo: { n: 2 } });
    expect(gantry.terminals('r1')).toHaveLength(1);
    expect(w.output()).toMatch(/status update "running" for job r1 failed \(POST .* ECONNREFUSED/);
    expect(w.output()).toMatch(/status update "done" for job r1 failed \(POST .*\); retrying in/);
  });

  it('does not repeat a done refused with a 409, whether the job is not held or in another conflict', { timeout: 60_000 }, async () => {
    const w = await start();
    gantry.refusals.set('lost', [409, 'GANTRY_ERR_JOB_NOT_HELD']);
    gantry.refusals.set('conflict', [409, 'GANTRY_ERR_STATE_CONFLICT']);
    gantry.submit('lost', { n: 1 });
    gantry.submit('conflict', { n: 2 });
    gantry.submit('next', { n: 3 });
    expect((await terminal('next')).status).toBe('done');
    await sleep(1_500); // room for a retry that must not come
    expect(gantry.terminals('lost').map((u) => u.status)).toEqual(['done']);
    // A done refused for another reason fails the job with the reason instead (not repeated either).
    const conflict = gantry.terminals('conflict');
    expect(conflict.map((u) => u.status)).toEqual(['done', 'failed']);
    expect(conflict[1]!.info?.error).toMatch(/^Error: the server refused the done update: HTTP 409: .*GANTRY_ERR_STATE_CONFLICT/);
    expect(w.output()).toMatch(/Job lost is no longer this worker's \(GANTRY_ERR_JOB_NOT_HELD\); its outputs were dropped/);
    expect(w.output()).toMatch(/status update "done" for job conflict was refused with HTTP 409: .*; not retrying/);
  });

  it('gives up after the window with a line saying the server retries the job, and restarts', { timeout: 60_000 }, async () => {
    const w = await start({ GANTRY_SPROCKET_STATUS_RETRY_SECONDS: '3' });
    gantry.submit('g1', { do: 'sleep', ms: 500 });
    await claimed();
    await gantry.stop();
    const stoppedAt = performance.now();
    expect(await w.exited).toBe(0); // it restarts itself, as after a predict timeout
    expect(performance.now() - stoppedAt).toBeGreaterThanOrEqual(3_000);
    expect(w.output()).toMatch(/gave up on the "done" update for job g1 after 3 s \(GANTRY_SPROCKET_STATUS_RETRY_SECONDS\): the job will be retried by the server/);
    expect(existsSync(path.join(w.cwd, '.fatal_error'))).toBe(true);
    const attempts = w.output().match(/status update "done" for job g1 failed/g) ?? [];
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.length).toBeLessThanOrEqual(10);
  });

  it('keeps retrieving with backoff through an outage, then claims again', { timeout: 60_000 }, async () => {
    const w = await start();
    await until('a few retrieves', async () => (gantry.retrieves >= 2 ? true : undefined), 10_000, 20);
    await gantry.stop();
    await sleep(6_000);
    await gantry.listen();
    gantry.submit('after', { n: 1 });
    expect((await terminal('after')).status).toBe('done');
    expect(await stopWorker(w)).toBe(0);
    const failures = w.output().match(/error retrieving a job/g) ?? [];
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures.length).toBeLessThanOrEqual(12); // backing off: a few attempts in 6 s, not one every 0.2 s
  });
});

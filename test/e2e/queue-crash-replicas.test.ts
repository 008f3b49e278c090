import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployExample, finishedJobs } from '../helpers/deploy-example.js';
import { callApi, startServerProcess, until, type ServerProcess } from '../helpers/server-process.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

const SLOW_WORKER = path.join(REPO_ROOT, 'test/fixtures/projects/slow-worker');
const JOBS = 6;
const JOB_SECONDS = 4;
/** The promise: every job ends within 30 s of the restart. */
const AFTER_RESTART_MS = 30_000;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * No job left behind when the control plane restarts (issue 14): a real server process, two local
 * replicas running Gantry's Sprocket (real child processes) and slow jobs. The server is stopped while
 * both replicas each run a job and more are pending — killed with -9, stopped cleanly (the replicas
 * stopped and started again under the same names), and killed with one replica killed during the
 * outage — and started again on the same data directory and port. Every job then ends `done` within
 * 30 s of the restart, none stays running, and none is recorded done twice (the servers' own count of
 * `done` outcomes equals the number of jobs).
 *
 * A job that finished during the outage has its `done` retried by the SDK until the server is back: the
 * adopted replica still holds the claim (same incarnation), so the late `done` is accepted and the job
 * ran once. A replica that was replaced (a clean stop and start, a replica killed during the outage) lost
 * its claims at the restart: those jobs ran again, each with one more retry, and ended done once. (A
 * worker that gives up on its `done` and asks for a new job loses that claim at once, too.)
 */
describe('jobs survive a control-plane restart with real local replicas', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-e2e-crash-replicas-'));
  const key = 'crash-replicas-admin-key-0123456789';
  const env = { GANTRY_ADMIN_KEY: key };
  let port: number;
  let server: ServerProcess;

  const call = <T = Record<string, unknown>>(method: string, url: string, body?: unknown) => callApi<T>(server, key, method, url, body);
  const statusOf = async (id: string) => String((await call('GET', `/v1/queue/status?model=slow&request_id=${id}`)).json.status);

  /** `done` outcomes this server process has recorded (its job-duration histogram). */
  async function doneCount(): Promise<number> {
    const res = await server.fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
    const text = await res.text();
    const lines = text.split('\n').filter((l) => l.startsWith('gantry_queue_job_duration_seconds_count{') && l.includes('status="done"'));
    return lines.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  }

  /** Submits the jobs and waits until the two replicas each run one, the others pending. */
  async function jobsInFlight(): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) ids.push(String((await call('POST', '/v1/queue/submit', { model: 'slow', payload: { seconds: JOB_SECONDS, n: i } })).json.requestId));
    await until('two jobs running', async () => {
      const statuses = await Promise.all(ids.map(statusOf));
      return statuses.filter((s) => s === 'running').length === 2 ? true : undefined;
    }, 60_000, 100);
    return ids;
  }

  /**
   * Starts the server again and expects every job done within 30 s; returns the done outcomes this server
   * recorded and how many times the jobs were retried in all.
   */
  async function restartAndFinish(ids: string[]): Promise<{ recorded: number; retries: number }> {
    server = await startServerProcess(dataDir, env, port);
    const statuses = await finishedJobs(server, key, 'slow', ids, AFTER_RESTART_MS, 250);
    expect(statuses.map((s) => s.status)).toEqual(Array(JOBS).fill('done'));
    expect(statuses.every((s) => typeof s.outputs.pid === 'number')).toBe(true);
    return { recorded: await doneCount(), retries: statuses.reduce((sum, s) => sum + Number(s.retries), 0) };
  }

  function replicaPids(): number[] {
    const dir = path.join(dataDir, 'replicas');
    return readdirSync(dir).flatMap((name) => {
      const record = JSON.parse(readFileSync(path.join(dir, name, 'replica.json'), 'utf8')) as { pid?: number };
      return record.pid ? [record.pid] : [];
    });
  }

  beforeAll(async () => {
    port = await freePort();
    server = await startServerProcess(dataDir, env, port);
    await deployExample(server, key, {
      name: 'slow', image: 'local/slow', gpu_type: 'none', min_replicas: 2, max_replicas: 2,
      termination_grace_period_seconds: 10,
      x_gantry_source: { path: SLOW_WORKER },
    });
  }, 300_000);
  afterAll(async () => {
    await call('DELETE', '/v1/deployments/slow').catch(() => undefined);
    await server.stop();
  }, 60_000);

  it('kill -9 of the server', async () => {
    const before = await doneCount();
    const ids = await jobsInFlight();
    const beforeKill = await doneCount();
    expect(await server.kill()).toBe('SIGKILL');
    await sleep(JOB_SECONDS * 1000 + 2000); // the running jobs end during the outage; their done waits
    // Both replicas were adopted with their claims: the jobs they ran were accepted late, not run again.
    expect(await restartAndFinish(ids)).toEqual({ recorded: JOBS - (beforeKill - before), retries: 0 });
  }, 120_000);

  it('a clean stop and start, the replicas stopped and started again under the same names', async () => {
    const before = await doneCount();
    const ids = await jobsInFlight();
    const beforeStop = await doneCount();
    await server.stop();
    const { recorded: after } = await restartAndFinish(ids);
    // Outcomes recorded while the server shut down are not in either count: at most one each.
    expect(beforeStop - before + after).toBeLessThanOrEqual(JOBS);
  }, 120_000);

  it('kill -9 of the server, and of a replica during the outage', async () => {
    const before = await doneCount();
    const ids = await jobsInFlight();
    const beforeKill = await doneCount();
    expect(await server.kill()).toBe('SIGKILL');
    const [victim] = replicaPids();
    process.kill(-victim!, 'SIGKILL'); // its process group: the replica and anything it started
    await sleep(JOB_SECONDS * 1000 + 2000);
    // The killed replica's claim was lost at the restart (one retry); the adopted one's done was accepted.
    expect(await restartAndFinish(ids)).toEqual({ recorded: JOBS - (beforeKill - before), retries: 1 });
  }, 120_000);
});

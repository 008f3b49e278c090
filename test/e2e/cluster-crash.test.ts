import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyService } from '../../src/auth/key-service.js';
import { ConsulClient } from '../../src/clients/consul/index.js';
import { ConsulStateStore } from '../../src/state/consul/consul-state-store.js';
import { createConsulDouble, type ConsulDouble } from '../doubles/consul/consul-double.js';
import { callApi, startServerProcess, until, type ServerProcess } from '../helpers/server-process.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

const KEY = 'cluster-crash-admin-key-0123456789abc';
const TTL_SECONDS = 10;
const LOCK_DELAY_SECONDS = 1;
const WORKERS = 3;
const JOBS = 9;
const JOB_MS = 3_000;
const WORKER = path.join(REPO_ROOT, 'test/fixtures/workers/cluster-worker.ts');
const TSX_LOADER = import.meta.resolve('tsx');

type Job = { status: string; retries: number; outputs: Record<string, unknown> | null };

/**
 * Issue 14 (Show, "the same on a cluster"): three `gantry server` processes on the Consul double; worker
 * processes (Gantry's TypeScript SDK, each with its own worker token, talking to the followers) run slow
 * jobs; the leader is killed with SIGKILL while they run. After another replica takes over, every job
 * ends `done`, and each keeps the one outcome recorded first (a late `done` from a worker whose claim
 * was moved does not replace it).
 */
describe('kill -9 of the leader of three gantry server processes while workers run jobs', () => {
  let consul: ConsulDouble | undefined;
  const servers: ServerProcess[] = [];
  const workers: ChildProcess[] = [];
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) await s.kill();
    await consul?.close();
  });

  const call = <T = Record<string, unknown>>(s: ServerProcess, method: string, url: string, body?: unknown) => callApi<T>(s, KEY, method, url, body);
  const leaderUrl = () => consul!.state.kv.get('gantry/leader')?.Value?.toString();

  /** A worker process for the deployment, with its own worker token, talking to `server`. */
  function startWorker(server: ServerProcess, name: string, token: string): ChildProcess {
    const cwd = mkdtempSync(path.join(tmpdir(), `gantry-crash-${name}-`));
    const env = { ...process.env, TOGETHER_API_BASE_URL: server.url, TOGETHER_API_KEY: token, TOGETHER_DEPLOYMENT_NAME: 'crash', WORKER_NAME: name, PORT: '0' };
    const child = spawn(process.execPath, ['--import', TSX_LOADER, WORKER, '--queue', '--port', '0'], { cwd, env, stdio: 'ignore' });
    workers.push(child);
    return child;
  }

  it('ends every job after the takeover, each with one outcome', async () => {
    consul = await createConsulDouble();
    const env = {
      CONSUL_HTTP_ADDR: consul.url,
      GANTRY_ADMIN_KEY: KEY,
      GANTRY_INSECURE_HTTP: '1',
      GANTRY_LEADER_TTL_SECONDS: String(TTL_SECONDS),
      GANTRY_LEADER_LOCK_DELAY_SECONDS: String(LOCK_DELAY_SECONDS),
    };
    const dirs = ['a', 'b', 'c'].map((n) => mkdtempSync(path.join(tmpdir(), `gantry-crash-${n}-`)));
    servers.push(...(await Promise.all(dirs.map((dir) => startServerProcess(dir, env)))));
    const leader = await until('a leader', async () => servers.find((s) => s.url === leaderUrl()), 30_000);
    const followers = servers.filter((s) => s !== leader);
    // No replica of Gantry's own (min 0, max 0): the workers are the external processes below.
    const created = await until('the deployment created through a follower', async () => {
      const res = await call(followers[0]!, 'POST', '/v1/deployments', {
        name: 'crash', image: 'local/crash', gpu_type: 'none', min_replicas: 0, max_replicas: 0,
        x_gantry_source: { path: path.join(REPO_ROOT, 'examples/hello-http') },
      });
      return res.status === 200 ? res : undefined;
    }, 30_000);
    const deploymentId = String(created.json.id);

    const keys = new KeyService(new ConsulStateStore(new ConsulClient({ address: consul.url }), 'gantry/'));
    for (let i = 0; i < WORKERS; i++) {
      const { key } = await keys.createWorkerToken(deploymentId, `external-${i}`);
      startWorker(followers[i % followers.length]!, `external-${i}`, key);
    }
    const ids: string[] = [];
    for (let n = 0; n < JOBS; n++) {
      const res = await call(followers[n % 2]!, 'POST', '/v1/queue/submit', { model: 'crash', payload: { n, ms: JOB_MS } });
      expect(res.status).toBe(200);
      ids.push(String(res.json.requestId));
    }
    const statusOf = async (id: string) => {
      for (const s of followers) {
        const res = await call<Job>(s, 'GET', `/v1/queue/status?model=crash&request_id=${id}`).catch(() => undefined);
        if (res?.status === 200) return res.json;
      }
      return undefined;
    };

    // Kill the leader while every worker runs a job.
    await until('every worker running a job', async () => {
      const running = (await Promise.all(ids.map(statusOf))).filter((s) => s?.status === 'running').length;
      return running >= WORKERS ? running : undefined;
    }, 60_000, 100);
    const killedAt = Date.now();
    expect(await leader.kill()).toBe('SIGKILL');

    const finals = await until('every job to end', async () => {
      const all = await Promise.all(ids.map(statusOf));
      return all.every((s) => s?.status === 'done' || s?.status === 'failed') ? (all as Job[]) : undefined;
    }, 2 * TTL_SECONDS * 1000 + 120_000, 500);
    process.stdout.write(`cluster crash: all ${JOBS} jobs ended ${((Date.now() - killedAt) / 1000).toFixed(1)} s after kill -9 of the leader\n`);
    expect(finals.map((s) => s.status)).toEqual(ids.map(() => 'done'));
    for (const [n, s] of finals.entries()) expect(s.outputs).toMatchObject({ n });

    // Exactly one outcome each: a worker whose claim moved to another at the takeover may still finish
    // the job and report it; that must not replace the outcome already recorded.
    await new Promise((r) => setTimeout(r, JOB_MS + 3_000));
    const later = await Promise.all(ids.map(statusOf));
    expect(later).toEqual(finals);
  }, 240_000);
});

import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { callApi, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * The server is killed with -9 again and again while clients submit and workers complete jobs. After
 * each restart, every acknowledged submit must exist, and no job whose `done` was acknowledged may be
 * handed out again or lose its outputs.
 */
describe('queue durability under kill -9', () => {
  it('loses no acknowledged submit and reruns no acknowledged done', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-crash-'));
    const port = await freePort();
    const key = 'crash-test-admin-key-0123456789';
    const env = { GANTRY_ADMIN_KEY: key };
    let server: ServerProcess = await startServerProcess(dataDir, env, port);
    const call = (method: string, url: string, body?: unknown) => callApi(server, key, method, url, body);
    // No replicas (max 0): the test's own loops are the workers. A short grace period makes the lease of
    // a claim whose worker lost its answer in a crash short too.
    const created = await call('POST', '/v1/deployments', {
      name: 'crashy',
      image: 'local/crashy',
      gpu_type: 'none',
      min_replicas: 0,
      max_replicas: 0,
      termination_grace_period_seconds: 2,
      x_gantry_source: { path: path.join(REPO_ROOT, 'examples/hello-http') },
    });
    expect(created.status).toBe(200);

    const acknowledged: string[] = [];
    const doneAcked = new Set<string>();
    const rerunAfterDone: string[] = [];
    let stopping = false;
    const tolerate = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await fn();
      } catch {
        await new Promise((r) => setTimeout(r, 50));
        return undefined;
      }
    };
    const client = async () => {
      while (!stopping) {
        const res = await tolerate(() => call('POST', '/v1/queue/submit', { model: 'crashy', payload: { n: acknowledged.length } }));
        if (res?.status === 200) acknowledged.push(String(res.json.requestId));
      }
    };
    const worker = async (name: string) => {
      while (!stopping) {
        const claim = await tolerate(() => call('GET', `/internal/v1/queue/retrieve?model=crashy&timeout=200ms&hostname=${name}`));
        const job = claim?.json.data as { request_id: string } | null | undefined;
        if (!job) continue;
        if (doneAcked.has(job.request_id)) rerunAfterDone.push(job.request_id);
        const done = await tolerate(() => call('POST', '/internal/v1/videos/status', { model: 'crashy', request_id: job.request_id, status: 'done', payload: { by: name } }));
        if (done?.status === 200) doneAcked.add(job.request_id);
      }
    };
    const loops = [client(), client(), worker('w1'), worker('w2'), worker('w3')];
    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, 1500));
      expect(await server.kill()).toBe('SIGKILL');
      server = await startServerProcess(dataDir, env, port);
    }
    await new Promise((r) => setTimeout(r, 3500));
    stopping = true;
    await Promise.all(loops);

    expect(acknowledged.length).toBeGreaterThan(50);
    expect(doneAcked.size).toBeGreaterThan(20);
    const missing: string[] = [];
    const notDone: string[] = [];
    for (const id of acknowledged) {
      const res = await call('GET', `/v1/queue/status?model=crashy&request_id=${id}`);
      if (res.status === 404) missing.push(id);
      if (doneAcked.has(id) && (res.json.status !== 'done' || !res.json.outputs)) notDone.push(id);
    }
    expect(missing).toEqual([]);
    expect(notDone).toEqual([]);
    expect(rerunAfterDone).toEqual([]);
    await server.stop();
  }, 120_000);
});

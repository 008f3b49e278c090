import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkerServer, type WorkerServerDeps } from '../src/http-server.js';
import type { JsonObject } from '../src/types.js';
import { recordingLogger } from './doubles/fake-worker-api.js';

interface Harness {
  url: string;
  state: { healthy: boolean; busy: boolean };
  aborted: unknown[];
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** The worker's server in-process; `runDirect` is given by the test and sees the busy flag as the Runner does. */
async function start(runDirect: (payload: unknown, controller: AbortController) => Promise<JsonObject>): Promise<Harness> {
  const state = { healthy: true, busy: false };
  const aborted: unknown[] = [];
  const deps: WorkerServerDeps = {
    predictPath: '/generate',
    isHealthy: () => state.healthy,
    isBusy: () => state.busy,
    runDirect: async (payload, controller) => {
      state.busy = true;
      controller.signal.addEventListener('abort', () => aborted.push(controller.signal.reason));
      try {
        return await runDirect(payload, controller);
      } finally {
        state.busy = false;
      }
    },
    log: recordingLogger(),
  };
  server = createWorkerServer(deps);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, state, aborted };
}

const post = (url: string, body: string) => fetch(url, { method: 'POST', body });

describe('the worker HTTP server', () => {
  it('answers /health 200 when ready and 503 otherwise, for GET and HEAD', async () => {
    const h = await start(async () => ({}));
    expect(await (await fetch(`${h.url}/health`)).json()).toEqual({ status: 'healthy' });
    h.state.healthy = false;
    const res = await fetch(`${h.url}/health`);
    expect([res.status, await res.json()]).toEqual([503, { status: 'unhealthy' }]);
    expect((await fetch(`${h.url}/health`, { method: 'HEAD' })).status).toBe(503);
  });

  it('answers /metrics with exactly requests_inflight 0.0 or 1.0 as text/plain', async () => {
    const h = await start(async () => ({}));
    const idle = await fetch(`${h.url}/metrics`);
    expect(idle.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await idle.text()).toBe('requests_inflight 0.0');
    h.state.busy = true;
    expect(await (await fetch(`${h.url}/metrics`)).text()).toBe('requests_inflight 1.0');
  });

  it('runs a POST /generate and answers its outputs; an error is a 500 with its message', async () => {
    const h = await start(async (payload) => {
      if ((payload as JsonObject).fail) throw new Error('model exploded');
      return { got: payload };
    });
    const ok = await post(`${h.url}/generate?x=1`, '{"a":1}');
    expect([ok.status, await ok.json()]).toEqual([200, { got: { a: 1 } }]);
    const failed = await post(`${h.url}/generate`, '{"fail":true}');
    expect([failed.status, await failed.json()]).toEqual([500, { error: 'model exploded' }]);
  });

  it('answers 503 while busy or not ready, 400 for a body that is not JSON, 404 and 405 elsewhere', async () => {
    const h = await start(async () => ({}));
    h.state.busy = true;
    expect(await (await post(`${h.url}/generate`, '{}')).json()).toEqual({ error: 'Worker is busy' });
    h.state.busy = false;
    h.state.healthy = false;
    expect(await (await post(`${h.url}/generate`, '{}')).json()).toEqual({ error: 'Worker is not ready' });
    const bad = await post(`${h.url}/generate`, '{"a":');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^request body is not valid JSON/);
    expect((await fetch(`${h.url}/nope`)).status).toBe(404);
    expect((await fetch(`${h.url}/generate`)).status).toBe(405);
  });

  it('aborts the job signal when the client goes away before the answer', async () => {
    let release!: () => void;
    const h = await start(() => new Promise((resolve) => (release = () => resolve({}))));
    const client = new AbortController();
    const request = fetch(`${h.url}/generate`, { method: 'POST', body: '{}', signal: client.signal }).catch((err: Error) => err.name);
    while (!h.state.busy) await sleep(10);
    client.abort();
    expect(await request).toBe('AbortError');
    while (h.aborted.length === 0) await sleep(10);
    expect((h.aborted[0] as Error).name).toBe('JobCanceledError');
    release();
  });
});

import type { AddressInfo } from 'node:net';
import Together from 'together-ai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryScheduler } from '../../doubles/memory-scheduler.js';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

describe('Queue API and worker protocol', () => {
  let server: TestServer;
  let scheduler: MemoryScheduler;
  let workerKey: string;
  let depId: string;

  beforeEach(async () => {
    scheduler = new MemoryScheduler();
    server = await createTestServer({ scheduler });
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/deployments',
      headers: server.auth,
      payload: { name: 'qd', image: 'img', gpu_type: 'none', min_replicas: 1 },
    });
    depId = created.json().id;
    workerKey = (await server.deps.keys.createWorkerToken(depId, 'qd-r0')).key;
  });
  afterEach(async () => server.close());

  const user = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    server.app.inject({ method, url, headers: server.auth, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const worker = (method: 'GET' | 'POST', url: string, payload?: unknown, key = workerKey) =>
    server.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });

  it('runs a job through submit → retrieve → running → done, as Sprocket speaks it', async () => {
    const submitted = (await user('POST', '/v1/queue/submit', { model: 'qd', payload: { name: 'Together' }, priority: 1 })).json();
    expect(submitted).toMatchObject({ status: 'pending' });
    expect(submitted.requestId).toBe(submitted.request_id);
    const claim = await worker('GET', '/internal/v1/queue/retrieve?model=qd&timeout=5s&hostname=h1');
    expect(claim.statusCode).toBe(200);
    expect(claim.json().data).toMatchObject({ request_id: submitted.requestId, payload: { name: 'Together' } });
    const running = await worker('POST', '/internal/v1/videos/status', { model: 'qd', request_id: submitted.requestId, status: 'running', payload: {}, info: { progress: 0.5 } });
    expect(running.statusCode).toBe(200);
    const status = (await user('GET', `/v1/queue/status?model=qd&request_id=${submitted.requestId}`)).json();
    expect(status).toMatchObject({ status: 'running', info: { progress: 0.5 }, inputs: { name: 'Together' } });
    expect(status.claimed_at).toEqual(expect.any(String));
    const done = await worker('POST', '/internal/v1/videos/status', { model: 'qd', request_id: submitted.requestId, status: 'done', payload: { message: 'Hello, Together!' } });
    expect(done.statusCode).toBe(200);
    const again = await worker('POST', '/internal/v1/videos/status', { model: 'qd', request_id: submitted.requestId, status: 'done', payload: { message: 'Hello, Together!' } });
    expect(again.statusCode).toBe(200);
    const final = (await user('GET', `/v1/queue/status?model=qd&request_id=${submitted.requestId}`)).json();
    expect(final).toMatchObject({ request_id: submitted.requestId, model: 'qd', status: 'done', outputs: { message: 'Hello, Together!' }, retries: 0, priority: 1, warnings: [] });
  });

  it('answers {"data": null} when no job came within the timeout', async () => {
    const res = await worker('GET', '/internal/v1/queue/retrieve?model=qd&timeout=100ms');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ data: null });
  });

  it('reports waiting and running counts', async () => {
    await user('POST', '/v1/queue/submit', { model: 'qd', payload: {} });
    await user('POST', '/v1/queue/submit', { model: 'qd', payload: {} });
    await worker('GET', '/internal/v1/queue/retrieve?model=qd&timeout=1s');
    expect((await user('GET', '/v1/queue/metrics?model=qd')).json()).toEqual({ messages_waiting: 1, messages_running: 1, total_jobs: 2 });
  });

  it('cancels a pending job, answers 409 with the status otherwise, and clears', async () => {
    const a = (await user('POST', '/v1/queue/submit', { model: 'qd', payload: {} })).json().requestId;
    expect((await user('POST', '/v1/queue/cancel', { model: 'qd', request_id: a })).json()).toEqual({ status: 'canceled' });
    const again = await user('POST', '/v1/queue/cancel', { model: 'qd', request_id: a });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual({ status: 'canceled' });
    await user('POST', '/v1/queue/submit', { model: 'qd', payload: {} });
    expect((await user('POST', '/v1/queue/clear', { model: 'qd' })).json()).toEqual({ canceled_count: 1 });
    expect((await user('POST', '/v1/queue/clear', { model: 'nope' })).statusCode).toBe(404);
  });

  it('releases the claims of a replica as soon as the scheduler reports its exit, counting a retry', async () => {
    const [replica] = await scheduler.replicas(depId);
    const replicaKey = (await server.deps.keys.createWorkerToken(depId, replica!.replicaId)).key;
    const id = (await user('POST', '/v1/queue/submit', { model: 'qd', payload: {} })).json().requestId;
    await worker('GET', '/internal/v1/queue/retrieve?model=qd&timeout=1s', undefined, replicaKey);
    scheduler.emitExit(replica!.replicaId, { code: 0 });
    await new Promise((r) => setTimeout(r, 50));
    expect((await user('GET', `/v1/queue/status?model=qd&request_id=${id}`)).json()).toMatchObject({ status: 'pending', retries: 1 });
  });

  it('wakes a deployment scaled to zero on submit', async () => {
    await user('PATCH' as 'POST', '/v1/deployments/qd', { min_replicas: 0, max_replicas: 2, autoscaling: { metric: 'QueueBacklogPerWorker' } });
    await server.deps.deployments.setDesiredReplicas(depId, 0);
    await user('POST', '/v1/queue/submit', { model: 'qd', payload: {} });
    expect(scheduler.scaleCalls.at(-1)).toEqual({ deploymentId: depId, count: 1 });
  });

  it.each([
    ['a missing model', { payload: {} }, 400, 'model'],
    ['a payload that is not an object', { model: 'qd', payload: [1, 2] }, 400, 'payload'],
    ['a priority outside int32', { model: 'qd', payload: {}, priority: 2 ** 31 }, 400, 'priority'],
    ['a fractional priority', { model: 'qd', payload: {}, priority: 1.5 }, 400, 'priority'],
    ['info over 4096 bytes', { model: 'qd', payload: {}, info: { x: 'y'.repeat(5000) } }, 400, 'info'],
    ['a payload over 1 MiB', { model: 'qd', payload: { x: 'y'.repeat(1024 * 1024) } }, 413, 'payload'],
    ['an unknown deployment', { model: 'ghost', payload: {} }, 404, 'model'],
  ])('refuses a submit with %s', async (_name, body, status, param) => {
    const res = await user('POST', '/v1/queue/submit', body);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.param).toBe(param);
    expect(res.json().error.message).toEqual(expect.any(String));
  });

  it('answers 404 for an unknown request id and 400 for a missing one', async () => {
    expect((await user('GET', '/v1/queue/status?model=qd&request_id=nope')).json().error.code).toBe('GANTRY_ERR_JOB_NOT_FOUND');
    expect((await user('GET', '/v1/queue/status?model=qd')).statusCode).toBe(400);
  });

  it('refuses a worker token of another deployment with 403, and worker tokens on client routes', async () => {
    const other = (await server.deps.keys.createWorkerToken('dep_other', 'x')).key;
    const res = await worker('GET', '/internal/v1/queue/retrieve?model=qd&timeout=10ms', undefined, other);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('GANTRY_ERR_AUTH_WRONG_DEPLOYMENT');
    expect((await worker('POST', '/v1/queue/submit', { model: 'qd', payload: {} })).statusCode).toBe(403);
  });

  it('refuses status updates with a bad status, oversized info, or from a worker without the claim', async () => {
    const id = (await user('POST', '/v1/queue/submit', { model: 'qd', payload: {} })).json().requestId;
    expect((await worker('POST', '/internal/v1/videos/status', { model: 'qd', request_id: id, status: 'finished' })).statusCode).toBe(400);
    await worker('GET', '/internal/v1/queue/retrieve?model=qd&timeout=1s');
    const big = await worker('POST', '/internal/v1/videos/status', { model: 'qd', request_id: id, status: 'running', info: { x: 'y'.repeat(5000) } });
    expect(big.json().error.code).toBe('GANTRY_ERR_JOB_INFO_TOO_LARGE');
    const stranger = (await server.deps.keys.createWorkerToken(depId, 'qd-r9')).key;
    const res = await worker('POST', '/internal/v1/videos/status', { model: 'qd', request_id: id, status: 'done', payload: {} }, stranger);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('GANTRY_ERR_JOB_NOT_HELD');
  });

  it('refuses a timeout that is not a duration, and caps long ones', async () => {
    expect((await worker('GET', '/internal/v1/queue/retrieve?model=qd&timeout=soon')).json().error.param).toBe('timeout');
  });

  it('works through the official client beta.jig.queue calls', async () => {
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    const client = new Together({ apiKey: server.adminKey, baseURL: `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}/v1`, maxRetries: 0 });
    const { requestId } = await client.beta.jig.queue.submit({ model: 'qd', payload: { a: 1 }, priority: 2, info: { source: 'sdk' } });
    const job = await client.beta.jig.queue.retrieve({ model: 'qd', request_id: requestId! });
    expect(job).toMatchObject({ status: 'pending', inputs: { a: 1 }, info: { source: 'sdk' }, priority: 2 });
    expect(await client.beta.jig.queue.metrics({ model: 'qd' })).toEqual({ messages_waiting: 1, messages_running: 0, total_jobs: 1 });
    expect(await client.beta.jig.queue.cancel({ model: 'qd', request_id: requestId! })).toEqual({ status: 'canceled' });
    await client.beta.jig.queue.submit({ model: 'qd', payload: {} });
    expect(await client.beta.jig.queue.clear({ model: 'qd' })).toEqual({ canceled_count: 1 });
  });
});

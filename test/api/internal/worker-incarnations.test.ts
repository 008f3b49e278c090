import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryScheduler } from '../../doubles/memory-scheduler.js';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

/**
 * The worker protocol with claims bound to incarnations: a replica's status update is heard only from
 * the incarnation holding the claim; one from a replaced incarnation gets a clear 409.
 */
describe('worker status updates and incarnations', () => {
  let server: TestServer;
  let scheduler: MemoryScheduler;
  let replicaId: string;
  let workerKey: string;

  beforeEach(async () => {
    scheduler = new MemoryScheduler();
    server = await createTestServer({ scheduler });
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/deployments',
      headers: server.auth,
      payload: { name: 'inc', image: 'img', gpu_type: 'none', min_replicas: 1, max_replicas: 1 },
    });
    const depId = created.json().id as string;
    replicaId = (await scheduler.replicas(depId))[0]!.replicaId;
    workerKey = (await server.deps.keys.createWorkerToken(depId, replicaId)).key;
  });
  afterEach(async () => server.close());

  const user = (method: 'GET' | 'POST', url: string, payload?: object) => server.app.inject({ method, url, headers: server.auth, ...(payload ? { payload } : {}) });
  const worker = (method: 'GET' | 'POST', url: string, payload?: object) =>
    server.app.inject({ method, url, headers: { authorization: `Bearer ${workerKey}` }, ...(payload ? { payload } : {}) });

  it('accepts the holding incarnation, and answers a replaced one 409 GANTRY_ERR_JOB_NOT_HELD naming the holder', async () => {
    const first = (await user('POST', '/v1/queue/submit', { model: 'inc', payload: {} })).json().requestId as string;
    expect((await worker('GET', '/internal/v1/queue/retrieve?model=inc&timeout=1s')).json().data.request_id).toBe(first);
    expect((await worker('POST', '/internal/v1/videos/status', { model: 'inc', request_id: first, status: 'done', payload: { ok: 1 } })).statusCode).toBe(200);

    const second = (await user('POST', '/v1/queue/submit', { model: 'inc', payload: {} })).json().requestId as string;
    await worker('GET', '/internal/v1/queue/retrieve?model=inc&timeout=1s');
    scheduler.setReplica(replicaId, { restarts: 1 }); // its process was replaced; no exit was reported
    const late = await worker('POST', '/internal/v1/videos/status', { model: 'inc', request_id: second, status: 'done', payload: { ok: 2 } });
    expect(late.statusCode).toBe(409);
    expect(late.json().error).toMatchObject({ code: 'GANTRY_ERR_JOB_NOT_HELD', type: 'conflict_error', param: 'request_id' });
    expect(late.json().error.message).toContain(`held by incarnation ${replicaId}#0 of replica ${replicaId}`);
    expect((await user('GET', `/v1/queue/status?model=inc&request_id=${second}`)).json()).toMatchObject({ status: 'pending', retries: 1, outputs: null });
  });
});

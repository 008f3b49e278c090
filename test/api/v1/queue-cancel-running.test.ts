import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryScheduler } from '../../doubles/memory-scheduler.js';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

/**
 * Canceling a running job (the Gantry extension `x_gantry_running`): the job ends `canceled` at once, and
 * its worker hears of it on its next status update, a 409 `GANTRY_ERR_JOB_CANCELED` (sdk/README.md).
 */
describe('canceling a running job', () => {
  let server: TestServer;
  let workerKey: string;

  beforeEach(async () => {
    server = await createTestServer({ scheduler: new MemoryScheduler() });
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/deployments',
      headers: server.auth,
      payload: { name: 'cr', image: 'img', gpu_type: 'none', min_replicas: 1 },
    });
    workerKey = (await server.deps.keys.createWorkerToken(created.json().id, 'cr-r0')).key;
  });
  afterEach(async () => server.close());

  const user = (method: 'GET' | 'POST', url: string, payload?: object) => server.app.inject({ method, url, headers: server.auth, ...(payload ? { payload } : {}) });
  const worker = (method: 'GET' | 'POST', url: string, payload?: object) =>
    server.app.inject({ method, url, headers: { authorization: `Bearer ${workerKey}` }, ...(payload ? { payload } : {}) });

  async function runningJob(): Promise<string> {
    const id = (await user('POST', '/v1/queue/submit', { model: 'cr', payload: { n: 1 } })).json().request_id as string;
    expect((await worker('GET', '/internal/v1/queue/retrieve?model=cr&timeout=1s')).json().data.request_id).toBe(id);
    return id;
  }

  it('keeps the schema behaviour without the extension: 409 with the current status', async () => {
    const id = await runningJob();
    const res = await user('POST', '/v1/queue/cancel', { model: 'cr', request_id: id });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ status: 'running' });
  });

  it('cancels it with x_gantry_running, and refuses the worker\'s later updates with GANTRY_ERR_JOB_CANCELED', async () => {
    const id = await runningJob();
    const res = await user('POST', '/v1/queue/cancel', { model: 'cr', request_id: id, x_gantry_running: true });
    expect(res.json()).toEqual({ status: 'canceled' });
    const status = (await user('GET', `/v1/queue/status?model=cr&request_id=${id}`)).json();
    expect(status).toMatchObject({ status: 'canceled', done_at: expect.any(String) });
    for (const update of ['running', 'done', 'failed']) {
      const reply = await worker('POST', '/internal/v1/videos/status', { model: 'cr', request_id: id, status: update, payload: {} });
      expect(reply.statusCode).toBe(409);
      expect(reply.json().error).toMatchObject({ code: 'GANTRY_ERR_JOB_CANCELED', param: 'request_id' });
    }
    expect((await user('GET', `/v1/queue/status?model=cr&request_id=${id}`)).json().status).toBe('canceled');
    expect((await user('GET', '/v1/queue/metrics?model=cr')).json()).toMatchObject({ messages_running: 0 });
  });

  it('still cancels pending jobs with the extension, and refuses finished ones with 409', async () => {
    const pending = (await user('POST', '/v1/queue/submit', { model: 'cr', payload: {} })).json().request_id as string;
    expect((await user('POST', '/v1/queue/cancel', { model: 'cr', request_id: pending, x_gantry_running: true })).json()).toEqual({ status: 'canceled' });
    const again = await user('POST', '/v1/queue/cancel', { model: 'cr', request_id: pending, x_gantry_running: true });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual({ status: 'canceled' });
  });

  it('refuses a non-boolean x_gantry_running, naming the field', async () => {
    const res = await user('POST', '/v1/queue/cancel', { model: 'cr', request_id: 'x', x_gantry_running: 'yes' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.param).toBe('x_gantry_running');
  });
});

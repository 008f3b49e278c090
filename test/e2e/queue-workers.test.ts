import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, startServerProcess, until, type ServerProcess } from '../helpers/server-process.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

const FLAKY = path.join(REPO_ROOT, 'test/fixtures/projects/flaky-worker');

/** Workers speaking the protocol over real HTTPS: in-test ones, and a local replica that dies mid-job. */
describe('queue with real workers over HTTPS', () => {
  let server: ServerProcess;
  let key: string;

  beforeAll(async () => {
    server = await startServerProcess(mkdtempSync(path.join(tmpdir(), 'gantry-e2e-queue-')));
    key = server.printedAdminKey!;
  });
  afterAll(async () => {
    await server.stop();
  });

  const call = <T = Record<string, unknown>>(method: string, url: string, body?: unknown) => callApi<T>(server, key, method, url, body);
  const submit = async (model: string, payload: object, extra: object = {}) =>
    String((await call('POST', '/v1/queue/submit', { model, payload, ...extra })).json.requestId);
  const status = async (model: string, id: string) => (await call('GET', `/v1/queue/status?model=${model}&request_id=${id}`)).json;
  const retrieve = async (model: string, query = '') =>
    (await call<{ data: { request_id: string; retries: number } | null }>('GET', `/internal/v1/queue/retrieve?model=${model}&timeout=1s${query}`)).json.data;

  async function deploy(name: string, body: object): Promise<void> {
    const res = await call('POST', '/v1/deployments', { name, image: `local/${name}`, gpu_type: 'none', ...body });
    expect(res.status).toBe(200);
  }

  it('hands jobs out by priority then time, cancels and clears, and requeues on lease expiry', async () => {
    await deploy('external', { min_replicas: 0, max_replicas: 0, x_gantry_source: { path: FLAKY } });
    const low = await submit('external', { n: 'low' });
    const high = await submit('external', { n: 'high' }, { priority: 10 });
    const mid = await submit('external', { n: 'mid' }, { priority: 5 });
    const canceled = await submit('external', { n: 'canceled' }, { priority: 99 });
    expect((await call('POST', '/v1/queue/cancel', { model: 'external', request_id: canceled })).json).toEqual({ status: 'canceled' });
    const order = [(await retrieve('external', '&claim_timeout=1'))!.request_id];
    order.push((await retrieve('external'))!.request_id, (await retrieve('external'))!.request_id);
    expect(order).toEqual([high, mid, low]);
    // The first worker "died" holding `high` with a 1 s lease: the job comes back, retries 1.
    const again = await until('the expired claim to come back', async () => (await retrieve('external')) ?? undefined);
    expect(again).toMatchObject({ request_id: high, retries: 1 });
    await submit('external', {});
    expect((await call('POST', '/v1/queue/clear', { model: 'external' })).json).toEqual({ canceled_count: 1 });
  });

  it('releases the claim of a replica that dies mid-job at once; the job runs again with retries 1', async () => {
    await deploy('flaky', { health_check_path: '', x_gantry_source: { path: FLAKY, cmd: 'python3 worker.py' } });
    const id = await submit('flaky', { die: 'first' });
    const done = await until('the job to be done', async () => {
      const s = await status('flaky', id);
      return s.status === 'done' ? s : undefined;
    });
    expect(done).toMatchObject({ retries: 1, outputs: { attempt: 2 } });
    expect(JSON.stringify(done.info)).toContain('exited');
  });

  it('fails a job whose claim was lost more than max_retries times, saying why', async () => {
    const id = await submit('flaky', { die: 'always' }, { max_retries: 1 });
    const failed = await until('the job to fail', async () => {
      const s = await status('flaky', id);
      return s.status === 'failed' ? s : undefined;
    });
    expect(failed.retries).toBe(1);
    expect(String((failed.info as { error: string }).error)).toMatch(/lost 2 times/);
    await call('DELETE', '/v1/deployments/flaky');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryScheduler } from '../doubles/memory-scheduler.js';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

/**
 * Issue 15 item 10: `/metrics`, public by default (documented), exposed the deployment ids the storage
 * attack used. It still labels by deployment id (stable across renames); what changed is that an id grants
 * nothing (item 2), and no label carries a key, token, signature, filename, payload or secret.
 */
describe('/metrics exposes nothing that grants access (issue 15 item 10)', () => {
  let server: TestServer;
  let scheduler: MemoryScheduler;

  beforeEach(async () => {
    scheduler = new MemoryScheduler();
    server = await createTestServer({ scheduler });
  });
  afterEach(async () => server.close());

  type Headers = Record<string, string>;
  const call = (method: 'GET' | 'POST', url: string, payload?: unknown, headers: Headers = server.auth) =>
    server.app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const deploy = async (name: string) => (await call('POST', '/v1/deployments', { name, image: 'img', gpu_type: 'none' })).json().id as string;

  it('scraped without a key, its deployment ids open no queue, storage or worker route to another deployment’s token', async () => {
    const victim = await deploy('victim');
    const attackerId = await deploy('attacker');
    const [replica] = await scheduler.replicas(attackerId);
    const attackerToken = (await server.deps.keys.createWorkerToken(attackerId, replica!.replicaId)).key;
    const attacker = { authorization: `Bearer ${attackerToken}` };
    await call('POST', '/v1/deployments/secrets', { name: 'HF_TOKEN', value: 'hf_secret_value_123456' });
    const job = (await call('POST', '/v1/queue/submit', { model: 'victim', payload: { prompt: 'private-prompt-987' } })).json();
    const upload = (await call('POST', '/v1/storage/upload-request', { filename: 'private-file-name.bin' })).json();
    await call('GET', '/v1/queue/status?model=victim&request_id=nope', undefined, { authorization: 'Bearer not-a-key-but-a-guess' });

    const scraped = await server.app.inject({ method: 'GET', url: '/metrics' });
    expect(scraped.statusCode).toBe(200);
    const ids = [...new Set([...scraped.body.matchAll(/deployment_id="([^"]+)"/g)].map((m) => m[1]!))];
    expect(ids).toContain(victim);
    const signature = new URL(upload.upload_url.url).searchParams.get('X-Gantry-Signature')!;
    for (const secret of [server.adminKey, attackerToken, 'hf_secret_value_123456', 'private-prompt-987', 'private-file-name', signature, 'not-a-key-but-a-guess', job.requestId]) {
      expect(scraped.body).not.toContain(secret);
    }

    for (const id of ids.filter((id) => id !== attackerId)) {
      for (const filename of [`queue/${id}`, `${id}/injected.py`, `${id}-out.png`, `queue/${id}/${job.requestId}/payload.json`]) {
        expect((await call('POST', '/v1/storage/upload-request', { filename }, attacker)).statusCode, filename).toBe(403);
      }
      const retrieve = await call('GET', `/internal/v1/queue/retrieve?model=${id}&timeout=100ms`, undefined, attacker);
      expect(retrieve.statusCode).toBeGreaterThanOrEqual(400);
      const status = await call('POST', '/internal/v1/videos/status', { model: id, request_id: job.requestId, status: 'done', payload: {} }, attacker);
      expect(status.statusCode).toBeGreaterThanOrEqual(400);
    }
    const still = (await call('GET', `/v1/queue/status?model=victim&request_id=${job.requestId}`)).json();
    expect(still.status).toBe('pending');
  });
});

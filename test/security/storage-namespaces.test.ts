import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryScheduler } from '../doubles/memory-scheduler.js';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

/**
 * Issue 15 item 2: worker tokens wrote into shared storage names. A worker uploaded
 * `<volume prefix>/injected.py`, which appeared inside a volume version other deployments mounted, and a
 * file named `queue/<another deployment's id>`, after which that deployment's submits over 64 KiB failed
 * with 500 (BlobNameConflictError). Replayed here against a real embedded server (real state, blob store
 * and queue; replicas from the in-memory scheduler).
 */
describe('storage attacks with a worker token (issue 15 item 2)', () => {
  let server: TestServer;
  let scheduler: MemoryScheduler;

  beforeEach(async () => {
    scheduler = new MemoryScheduler();
    server = await createTestServer({ scheduler });
  });
  afterEach(async () => server.close());

  type Headers = Record<string, string>;
  const call = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, headers: Headers = server.auth) =>
    server.app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const local = (url: string): string => {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  };
  /** Upload-request then PUT; the status of whichever failed, else of the PUT. */
  const upload = async (filename: string, content: string, headers: Headers = server.auth) => {
    const asked = await call('POST', '/v1/storage/upload-request', { filename }, headers);
    if (asked.statusCode !== 200) return asked;
    return server.app.inject({ method: 'PUT', url: local(asked.json().upload_url.url), payload: content });
  };
  const deploy = async (name: string, body: Record<string, unknown> = {}) => {
    const res = await call('POST', '/v1/deployments', { name, image: 'img', gpu_type: 'none', ...body });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().id as string;
  };
  const workerOf = async (deploymentId: string): Promise<Headers> => {
    const [replica] = await scheduler.replicas(deploymentId);
    const { key } = await server.deps.keys.createWorkerToken(deploymentId, replica!.replicaId);
    return { authorization: `Bearer ${key}` };
  };

  it('cannot put a file into a volume version another deployment mounts', async () => {
    expect((await upload('pantry/0/curry.txt', 'cumin')).statusCode).toBe(200);
    await call('POST', '/v1/deployments/storage/volumes', { name: 'pantry', type: 'readOnly', content: { type: 'files', source_prefix: 'pantry/0' } });
    const victim = await deploy('victim', { volumes: [{ name: 'pantry', mount_path: '/pantry' }] });
    const attacker = await workerOf(await deploy('attacker'));

    for (const name of ['pantry/0/injected.py', 'vol-data/pantry/0/injected.py']) {
      const refused = await upload(name, 'import os; os.system("…")', attacker);
      expect(refused.statusCode, name).toBe(403);
      expect(refused.json().error).toMatchObject({ code: 'GANTRY_ERR_STORAGE_NOT_JOB_OUTPUT', param: 'filename' });
    }
    // Even a user's later upload under the prefix leaves the mounted version as it was (frozen at mount).
    expect((await upload('pantry/0/late.py', 'late')).statusCode).toBe(200);
    const hostPath = scheduler.applied(victim)!.spec.volumes[0]!.hostPath;
    expect(readdirSync(hostPath)).toEqual(['curry.txt']);
    const volume = (await call('GET', '/v1/deployments/storage/volumes/pantry')).json();
    expect(volume.content.files.map((f: { name: string }) => f.name)).toEqual(['curry.txt']);
  });

  it('cannot break another deployment’s large submits with a file named queue/<its id>', async () => {
    const victim = await deploy('victim');
    const attacker = await workerOf(await deploy('attacker'));
    const refused = await upload(`queue/${victim}`, 'blocker', attacker);
    expect(refused.statusCode).toBe(403);
    // A user key may name any file, and still reaches only the uploads namespace.
    expect((await upload(`queue/${victim}`, 'blocker')).statusCode).toBe(200);
    const payload = { blob: 'x'.repeat(100 * 1024) };
    const submitted = await call('POST', '/v1/queue/submit', { model: 'victim', payload });
    expect(submitted.statusCode, submitted.body).toBe(200);
    const status = await call('GET', `/v1/queue/status?model=victim&request_id=${submitted.json().requestId}`);
    expect(status.json().inputs).toEqual(payload);
  });

  it('lets a worker upload the outputs of the job it holds, and only while it holds it', async () => {
    const depId = await deploy('worker-dep');
    const worker = await workerOf(depId);
    const requestId = (await call('POST', '/v1/queue/submit', { model: 'worker-dep', payload: {} })).json().requestId as string;
    expect((await upload(`${requestId}-out.png`, 'png', worker)).statusCode).toBe(403);
    const claim = await call('GET', '/internal/v1/queue/retrieve?model=worker-dep&timeout=1s', undefined, worker);
    expect(claim.json().data.request_id).toBe(requestId);
    expect((await upload(`${requestId}-out.png`, 'png', worker)).statusCode).toBe(200);
    const done = await call('POST', '/internal/v1/videos/status', { model: 'worker-dep', request_id: requestId, status: 'done', payload: {} }, worker);
    expect(done.statusCode, done.body).toBe(200);
    expect((await upload(`${requestId}-more.png`, 'png', worker)).statusCode).toBe(403);
  });
});

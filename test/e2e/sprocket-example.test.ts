import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployExample, finishedJob } from '../helpers/deploy-example.js';
import { callApi, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

/**
 * examples/hello-world, an unmodified Sprocket worker, deployed on the embedded default: its virtualenv
 * gets Gantry's `sprocket` (compat.md §8.30), and it takes a job from the queue over HTTPS.
 */
describe('the hello-world Sprocket example on the embedded default', () => {
  let server: ServerProcess;
  let key: string;

  beforeAll(async () => {
    server = await startServerProcess(mkdtempSync(path.join(tmpdir(), 'gantry-e2e-sprocket-')));
    key = server.printedAdminKey!;
  });
  afterAll(async () => {
    await server.stop();
  });

  const call = (method: string, url: string, body?: unknown) => callApi(server, key, method, url, body);

  it('deploys, becomes Ready and processes a job', async () => {
    await deployExample(server, key, {
      name: 'hello-world',
      image: 'local/hello-world',
      gpu_type: 'none',
      x_gantry_source: { path: path.join(REPO_ROOT, 'examples/hello-world') },
    });
    const submitted = await call('POST', '/v1/queue/submit', { model: 'hello-world', payload: { name: 'Together' }, priority: 1 });
    const id = String(submitted.json.requestId);
    const done = await finishedJob(server, key, 'hello-world', id);
    expect(done).toMatchObject({ status: 'done', outputs: { message: 'Hello, Together!' } });
    const health = await server.fetch(`${server.url}/v1/deployment-request/hello-world/health`, { headers: { authorization: `Bearer ${key}` } });
    expect(await health.json()).toEqual({ status: 'healthy' });
    await call('DELETE', '/v1/deployments/hello-world');
  }, 320_000);
});

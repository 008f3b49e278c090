import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployExample, finishedJob } from '../helpers/deploy-example.js';
import { callApi, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

/**
 * examples/hello-ts, a TypeScript worker on @gantry/sprocket, deployed on the embedded default from its
 * jig.toml: the replica runs `node --import tsx worker.ts --queue` in the project directory, trusts
 * Gantry's CA through NODE_EXTRA_CA_CERTS, and takes a job from the queue over HTTPS.
 */
describe('the hello-ts example on the embedded default', () => {
  let server: ServerProcess;
  let key: string;

  beforeAll(async () => {
    server = await startServerProcess(mkdtempSync(path.join(tmpdir(), 'gantry-e2e-hello-ts-')));
    key = server.printedAdminKey!;
  });
  afterAll(async () => {
    await server.stop();
  });

  const call = (method: string, url: string, body?: unknown) => callApi(server, key, method, url, body);

  it('deploys, becomes Ready and processes a job', async () => {
    await deployExample(server, key, {
      name: 'hello-ts',
      image: 'local/hello-ts',
      gpu_type: 'none',
      x_gantry_source: { path: path.join(REPO_ROOT, 'examples/hello-ts') },
    }, 120_000);
    const submitted = await call('POST', '/v1/queue/submit', { model: 'hello-ts', payload: { name: 'Together' } });
    const id = String(submitted.json.requestId);
    const done = await finishedJob(server, key, 'hello-ts', id);
    expect(done).toMatchObject({ status: 'done', outputs: { message: 'Hello, Together!' }, info: { greeted: 'Together' } });
    const direct = await server.fetch(`${server.url}/v1/deployment-request/hello-ts/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'direct' }),
    });
    expect(await direct.json()).toEqual({ message: 'Hello, direct!' });
    await call('DELETE', '/v1/deployments/hello-ts');
  }, 200_000);
});

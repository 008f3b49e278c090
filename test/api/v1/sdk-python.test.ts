import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

/** GET /v1/sdk/python/: Gantry's sprocket wheel as a PEP 503 simple index (compat.md §8.30). */
describe('the Python SDK index', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await createTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  it('lists sprocket at the root, without a key', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/sdk/python/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('<a href="sprocket/">sprocket</a>');
  });

  it('redirects the project name without a slash, and normalised spellings, to the project page', async () => {
    for (const url of ['/v1/sdk/python/Sprocket', '/v1/sdk/python']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(301);
    }
    expect((await t.app.inject({ method: 'GET', url: '/v1/sdk/python/Sprocket' })).headers.location).toBe('/v1/sdk/python/sprocket/');
  });

  it('links the built wheel with its sha256, and serves those exact bytes', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/v1/sdk/python/sprocket/' });
    expect(page.statusCode).toBe(200);
    const link = /<a href="([^"#]+)#sha256=([0-9a-f]{64})" data-requires-python="&gt;=3.10">(sprocket-[^<]+\.whl)<\/a>/.exec(page.body);
    expect(link, page.body).not.toBeNull();
    const file = await t.app.inject({ method: 'GET', url: `/v1/sdk/python/sprocket/${link![1]}` });
    expect(file.statusCode).toBe(200);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(file.rawPayload).digest('hex')).toBe(link![2]);
    expect(file.rawPayload.subarray(0, 2).toString()).toBe('PK');
  }, 180_000);

  it('builds once: a second request is served from the cache under the data dir', async () => {
    const first = await t.deps.pythonSdk.get();
    const second = await t.deps.pythonSdk.get();
    expect(second).toEqual(first);
    expect(first.path.startsWith(t.dataDir)).toBe(true);
  }, 180_000);

  it('answers 404 for other projects and files', async () => {
    const other = await t.app.inject({ method: 'GET', url: '/v1/sdk/python/requests/' });
    expect(other.statusCode).toBe(404);
    expect(other.json().error.param).toBe('project');
    const file = await t.app.inject({ method: 'GET', url: '/v1/sdk/python/sprocket/sprocket-9.9.9-py3-none-any.whl' });
    expect(file.statusCode).toBe(404);
    expect(file.json().error.param).toBe('file');
  }, 180_000);
});

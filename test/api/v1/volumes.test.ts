import Together from 'together-ai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

const BASE = '/v1/deployments/storage/volumes';
const content = (source_prefix: string) => ({ type: 'files', source_prefix });
/** The body `jig volumes create --name <name>` sends (compat-source.md §B.11). */
const cliCreate = (name: string) => ({ name, type: 'readOnly', content: content(`${name}/0`) });

describe('volumes API (compat.md §5.3)', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await createTestServer();
  });
  afterEach(async () => server.close());

  type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  const call = (method: Method, url: string, payload?: unknown, headers: Record<string, string> = server.auth) =>
    server.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  const errorOf = (res: { json(): unknown }) => (res.json() as { error: { code: string; param: string | null; message: string } }).error;

  /** What the vendor uploader does per file: ask for a signed URL, then PUT the bytes to it without a key. */
  async function uploadFile(filename: string, text: string): Promise<void> {
    const asked = await call('POST', '/v1/storage/upload-request', { filename });
    expect(asked.statusCode, asked.body).toBe(200);
    const url = new URL(asked.json().upload_url.url as string);
    const put = await server.app.inject({ method: 'PUT', url: url.pathname + url.search, payload: text });
    expect(put.statusCode, put.body).toBe(200);
  }

  it('serves the vendor CLI flow: create, upload, update, describe (with and without ?version), list, delete', async () => {
    const created = await call('POST', BASE, cliCreate('pantry'));
    expect(created.statusCode, created.body).toBe(200);
    const volume = created.json();
    expect(volume).toMatchObject({ object: 'volume', name: 'pantry', type: 'readOnly', current_version: 0, mounted_by: [] });
    expect(volume.id).toMatch(/^vol_/);
    await uploadFile('pantry/0/curry.txt', 'cumin');
    await uploadFile('pantry/0/menu/pasta.txt', 'penne');

    // `jig volumes update`: GET → current_version + 1 → upload to pantry/1 → PATCH the new prefix.
    const described = (await call('GET', `${BASE}/pantry`)).json();
    expect(described.content.files.map((f: { name: string }) => f.name)).toEqual(['curry.txt', 'menu/pasta.txt']);
    await uploadFile(`pantry/${described.current_version + 1}/curry.txt`, 'cumin and more');
    const patched = await call('PATCH', `${BASE}/pantry`, { content: content('pantry/1') });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ id: volume.id, current_version: 1, content: { source_prefix: 'pantry/1' } });
    expect(patched.json().content.files).toEqual([{ name: 'curry.txt', size: 14, last_modified: expect.any(String) }]);

    const v0 = (await call('GET', `${BASE}/pantry?version=0`)).json();
    expect(v0).toMatchObject({ current_version: 1, content: { source_prefix: 'pantry/0' } });
    expect(v0.content.files).toHaveLength(2);
    const current = (await call('GET', `${BASE}/${volume.id}`)).json();
    expect(current.content.source_prefix).toBe('pantry/1');
    expect(Object.keys(current.version_history)).toEqual(['0', '1']);

    const list = (await call('GET', BASE)).json();
    expect(list).toMatchObject({ object: 'list', data: [{ id: volume.id, name: 'pantry', current_version: 1 }] });

    const deleted = await call('DELETE', `${BASE}/pantry`);
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toEqual({});
    expect(errorOf(await call('GET', `${BASE}/pantry`)).code).toBe('GANTRY_ERR_VOLUME_NOT_FOUND');
    expect((await call('DELETE', `${BASE}/pantry`)).statusCode).toBe(404);
  });

  it('answers a create of a taken name with a 400 whose message contains "already exists"', async () => {
    await call('POST', BASE, cliCreate('pantry'));
    const res = await call('POST', BASE, cliCreate('pantry'));
    expect(res.statusCode).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'GANTRY_ERR_VOLUME_EXISTS', param: 'name' });
    expect(errorOf(res).message).toContain('already exists');
  });

  it('renames with PATCH name, keeping the id and versions', async () => {
    const { id } = (await call('POST', BASE, cliCreate('pantry'))).json();
    const res = await call('PATCH', `${BASE}/pantry`, { name: 'larder', type: 'readOnly' });
    expect(res.json()).toMatchObject({ id, name: 'larder', current_version: 0 });
    expect((await call('GET', `${BASE}/pantry`)).statusCode).toBe(404);
    expect((await call('GET', `${BASE}/larder`)).json().id).toBe(id);
  });

  it('shows mounts in mounted_by and refuses to delete a mounted volume with a 409 naming the deployment', async () => {
    const { id } = (await call('POST', BASE, cliCreate('pantry'))).json();
    await server.deps.volumes.setMounts('dep_kitchen', [{ volumeId: id, version: 0 }]);
    expect((await call('GET', `${BASE}/pantry`)).json().mounted_by).toEqual(['dep_kitchen']);
    const res = await call('DELETE', `${BASE}/pantry`);
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe('GANTRY_ERR_VOLUME_IN_USE');
    expect(errorOf(res).message).toContain('dep_kitchen');
  });

  it.each([
    ['a name with a space', { ...cliCreate('x'), name: 'bad name' }, 'name'],
    ['a 101-character name', { ...cliCreate('x'), name: 'n'.repeat(101) }, 'name'],
    ['an empty name', { ...cliCreate('x'), name: '' }, 'name'],
    ['a missing name', { type: 'readOnly', content: content('x/0') }, 'name'],
    ['a wrong type', { ...cliCreate('x'), type: 'readWrite' }, 'type'],
    ['a missing type', { name: 'x', content: content('x/0') }, 'type'],
    ['missing content', { name: 'x', type: 'readOnly' }, 'content'],
    ['content that is not an object', { name: 'x', type: 'readOnly', content: 'x/0' }, 'content'],
    ['a wrong content type', { ...cliCreate('x'), content: { type: 's3', source_prefix: 'x/0' } }, 'content.type'],
    ['a missing source_prefix', { ...cliCreate('x'), content: { type: 'files' } }, 'content.source_prefix'],
    ['a source_prefix with ".."', { ...cliCreate('x'), content: content('x/../../etc') }, 'content.source_prefix'],
    ['an absolute source_prefix', { ...cliCreate('x'), content: content('/etc') }, 'content.source_prefix'],
  ])('refuses a create with %s: 400 naming the field', async (_what, body, param) => {
    const res = await call('POST', BASE, body);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'GANTRY_ERR_REQUEST_INVALID', param });
    expect(errorOf(res).message).toContain(param);
  });

  it('reports every problem of a body at once', async () => {
    const { message } = errorOf(await call('POST', BASE, { name: 'a b', type: 'x' }));
    for (const field of ['name', 'type', 'content']) expect(message).toContain(`${field}:`);
  });

  it.each([
    ['a bad name', { name: 'a/b' }, 'name'],
    ['a wrong type', { type: 'readWrite' }, 'type'],
    ['a bad source_prefix', { content: content('a//b') }, 'content.source_prefix'],
  ])('refuses a PATCH with %s: 400 naming the field', async (_what, body, param) => {
    await call('POST', BASE, cliCreate('pantry'));
    const res = await call('PATCH', `${BASE}/pantry`, body);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'GANTRY_ERR_REQUEST_INVALID', param });
  });

  it('keeps a trailing "/" out of the stored source_prefix', async () => {
    const res = await call('POST', BASE, { ...cliCreate('pantry'), content: content('pantry/0/') });
    expect(res.json().content.source_prefix).toBe('pantry/0');
  });

  it('answers ?version that is not a number with a 400, and an unknown version with a 404', async () => {
    await call('POST', BASE, cliCreate('pantry'));
    const bad = await call('GET', `${BASE}/pantry?version=latest`);
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad)).toMatchObject({ code: 'GANTRY_ERR_REQUEST_INVALID', param: 'version' });
    const unknown = await call('GET', `${BASE}/pantry?version=3`);
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown)).toMatchObject({ code: 'GANTRY_ERR_VOLUME_NOT_FOUND', param: 'version' });
  });

  it.each(['GET', 'PATCH', 'DELETE'] as const)('answers %s of an unknown volume with a 404', async (method) => {
    const res = await call(method, `${BASE}/vol_00000000000000000000000000000000`, method === 'PATCH' ? { name: 'x' } : undefined);
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('GANTRY_ERR_VOLUME_NOT_FOUND');
  });

  it('answers a deeper path under volumes/ with a 404, not a storage redirect', async () => {
    const res = await call('GET', `${BASE}/pantry/files`);
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('GANTRY_ERR_ROUTE_NOT_FOUND');
  });

  it('needs a user key: none is a 401, a worker token a 403', async () => {
    expect(errorOf(await call('GET', BASE, undefined, {})).code).toBe('GANTRY_ERR_AUTH_MISSING_KEY');
    const { key } = await server.deps.keys.createWorkerToken('dep_x', 'r1');
    const res = await call('POST', BASE, cliCreate('pantry'), { authorization: `Bearer ${key}` });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('GANTRY_ERR_AUTH_FORBIDDEN');
  });

  describe('through the official together-ai client', () => {
    let client: Together;
    beforeEach(async () => {
      const address = await server.app.listen({ port: 0, host: '127.0.0.1' });
      client = new Together({ apiKey: server.adminKey, baseURL: `${address}/v1`, fetch: globalThis.fetch, maxRetries: 0 });
    });

    it('runs create, retrieve (with version), update, list and delete unchanged', async () => {
      const volumes = client.beta.jig.volumes;
      const created = await volumes.create({ name: 'sdk-vol', type: 'readOnly', content: { type: 'files', source_prefix: 'sdk-vol/0' } });
      expect(created).toMatchObject({ object: 'volume', name: 'sdk-vol', current_version: 0 });
      await uploadFile('sdk-vol/1/weights.bin', 'w');
      const updated = await volumes.update('sdk-vol', { content: { source_prefix: 'sdk-vol/1' } });
      expect(updated.current_version).toBe(1);
      expect(updated.content?.files?.map((f) => f.name)).toEqual(['weights.bin']);
      expect((await volumes.retrieve(created.id!, { version: 0 })).content?.source_prefix).toBe('sdk-vol/0');
      expect((await volumes.retrieve('sdk-vol')).content?.source_prefix).toBe('sdk-vol/1');
      expect((await volumes.list()).data?.map((v) => v.name)).toEqual(['sdk-vol']);
      expect(await volumes.delete('sdk-vol')).toEqual({});
      await expect(volumes.retrieve('sdk-vol')).rejects.toMatchObject({ status: 404 });
    });

    it('surfaces a name clash as a 400 whose message says "already exists"', async () => {
      const body = { name: 'dup', type: 'readOnly' as const, content: { source_prefix: 'dup/0' } };
      await client.beta.jig.volumes.create(body);
      const err = await client.beta.jig.volumes.create(body).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Together.BadRequestError);
      expect((err as Error).message).toContain('already exists');
    });
  });
});

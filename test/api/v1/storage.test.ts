import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer, FakeClock, type TestServer } from '../../helpers/test-server.js';

/** Small enough to exceed cheaply, large enough for the 2 MiB JSON-typed upload below. */
const MAX_UPLOAD = 3 * 1024 * 1024;
const TTL = 600;

describe('storage routes', () => {
  let server: TestServer;
  let clock: FakeClock;
  beforeAll(async () => {
    clock = new FakeClock();
    server = await createTestServer({
      clock,
      env: { GANTRY_MAX_UPLOAD_BYTES: String(MAX_UPLOAD), GANTRY_SIGNED_URL_TTL_SECONDS: String(TTL) },
    });
  });
  afterAll(async () => server.close());

  type Headers = Record<string, string>;
  /** Path and query of an absolute URL the server handed out. */
  const local = (url: string) => {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  };
  const post = (url: string, payload: object, headers: Headers = server.auth) =>
    server.app.inject({ method: 'POST', url, headers, payload });
  const get = (url: string, headers: Headers = {}) => server.app.inject({ method: 'GET', url, headers });
  const put = (url: string, payload: string | Buffer, headers: Headers = {}) =>
    server.app.inject({ method: 'PUT', url: local(url), headers, payload });
  const uploadUrl = async (filename: string, headers: Headers = server.auth) => {
    const res = await post('/v1/storage/upload-request', { filename }, headers);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().upload_url.url as string;
  };
  const upload = async (filename: string, content: string | Buffer, headers: Headers = server.auth) => {
    const res = await put(await uploadUrl(filename, headers), content);
    expect(res.statusCode, res.body).toBe(200);
    return res;
  };
  const workerAuth = async (deploymentId: string) => {
    const { key } = await server.deps.keys.createWorkerToken(deploymentId, 'r1');
    return { authorization: `Bearer ${key}` };
  };
  const init = async (filename: string, partsCount: number, headers: Headers = server.auth) => {
    const res = await post('/v1/storage/multipart/init', { filename, parts_count: partsCount }, headers);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { upload_id: string; part_upload_urls: Array<{ part_number: number; url: string; method: string }> };
  };
  const codeOf = (res: { json(): { error: { code: string } } }) => res.json().error.code;

  describe('single uploads and downloads', () => {
    it('answers an upload request with a signed PUT that needs no headers', async () => {
      const res = await post('/v1/storage/upload-request', { filename: 'req-1-out.txt' });
      expect(res.statusCode).toBe(200);
      const { upload_url } = res.json();
      expect(upload_url).toMatchObject({ method: 'PUT', headers: {} });
      expect(upload_url.url).toMatch(/^https:\/\/gantry\.test\/v1\/storage\/req-1-out\.txt\?.*X-Gantry-Signature=/);
    });

    it('stores a PUT through the URL without a key and serves it back with a key', async () => {
      const put1 = await upload('req-2-out.txt', 'hello storage');
      expect(put1.headers.etag).toMatch(/^"[0-9a-f]{64}"$/);
      const res = await get('/v1/storage/req-2-out.txt', server.auth);
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('hello storage');
      expect(res.headers['content-length']).toBe('13');
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(Date.parse(String(res.headers['last-modified']))).not.toBeNaN();
    });

    it('answers HEAD with the size and no body', async () => {
      await upload('head.bin', 'twelve bytes');
      const res = await server.app.inject({ method: 'HEAD', url: '/v1/storage/head.bin', headers: server.auth });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-length']).toBe('12');
      expect(res.headers['content-type']).toBe('application/octet-stream');
      expect(res.body).toBe('');
    });

    it('redirects ?signed=1 to a URL that works without a key, more than once', async () => {
      await upload('req-3-out.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      const redirect = await get('/v1/storage/req-3-out.png?signed=1', server.auth);
      expect(redirect.statusCode).toBe(307);
      const location = String(redirect.headers.location);
      expect(location).toContain('X-Gantry-Signature=');
      for (let i = 0; i < 2; i++) {
        const res = await get(local(location));
        expect(res.statusCode).toBe(200);
        expect(res.rawPayload).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
        expect(res.headers['content-type']).toBe('image/png');
      }
    });

    it('redirects GET /v1/deployments/storage/<name> to a signed URL', async () => {
      await upload('vol/0/data.csv', 'a,b\n1,2\n');
      const redirect = await get('/v1/deployments/storage/vol/0/data.csv', server.auth);
      expect(redirect.statusCode).toBe(307);
      const res = await get(local(String(redirect.headers.location)));
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('a,b\n1,2\n');
    });

    it('leaves /v1/deployments/storage/volumes… to the Volumes API', async () => {
      await upload('volumes/x', 'x');
      const list = await get('/v1/deployments/storage/volumes', server.auth);
      expect(list.json()).toMatchObject({ object: 'list', data: [] });
      const one = await get('/v1/deployments/storage/volumes/x', server.auth);
      expect(one.statusCode).toBe(404);
      expect(codeOf(one)).toBe('GANTRY_ERR_VOLUME_NOT_FOUND');
    });

    it('answers 404 for a file that does not exist', async () => {
      expect(codeOf(await get('/v1/storage/nothing-here', server.auth))).toBe('GANTRY_ERR_STORAGE_NOT_FOUND');
      expect(codeOf(await get('/v1/deployments/storage/nothing-here', server.auth))).toBe('GANTRY_ERR_STORAGE_NOT_FOUND');
    });

    it('answers 401 without a key or signature', async () => {
      await upload('private.txt', 'secret');
      const res = await get('/v1/storage/private.txt');
      expect(res.statusCode).toBe(401);
      expect(codeOf(res)).toBe('GANTRY_ERR_AUTH_MISSING_KEY');
      expect(codeOf(await post('/v1/storage/upload-request', { filename: 'x' }, {}))).toBe('GANTRY_ERR_AUTH_MISSING_KEY');
      expect(codeOf(await get('/v1/deployments/storage/private.txt'))).toBe('GANTRY_ERR_AUTH_MISSING_KEY');
    });

    it.each([
      ['application/json', { 'content-type': 'application/json' }],
      ['a form type', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['no content type', {}],
    ])('streams a 2 MiB body sent as %s', async (_what, headers) => {
      const content = Buffer.alloc(2 * 1024 * 1024, 'j');
      const res = await put(await uploadUrl('two-mib.bin'), content, headers as Headers);
      expect(res.statusCode, res.body).toBe(200);
      const back = await get('/v1/storage/two-mib.bin', server.auth);
      expect(back.rawPayload.equals(content)).toBe(true);
    });

    it('stores an empty body', async () => {
      await upload('empty.txt', '');
      const res = await get('/v1/storage/empty.txt', server.auth);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-length']).toBe('0');
    });
  });

  describe('upload URL lifetime', () => {
    it('takes a retry after a failed PUT, and refuses a PUT after a successful one', async () => {
      const url = await uploadUrl('retried.bin');
      const tooBig = await put(url, Buffer.alloc(MAX_UPLOAD + 1));
      expect(tooBig.statusCode).toBe(413);
      expect(codeOf(tooBig)).toBe('GANTRY_ERR_STORAGE_FILE_TOO_LARGE');
      expect((await put(url, 'second try')).statusCode).toBe(200);
      const again = await put(url, 'third');
      expect(again.statusCode).toBe(403);
      expect(codeOf(again)).toBe('GANTRY_ERR_STORAGE_URL_USED');
      expect((await get('/v1/storage/retried.bin', server.auth)).body).toBe('second try');
    });

    it('refuses upload and download URLs once the TTL has passed', async () => {
      await upload('expiring.txt', 'x');
      const download = String((await get('/v1/storage/expiring.txt?signed=1', server.auth)).headers.location);
      const uploadLater = await uploadUrl('later.txt');
      clock.advance((TTL + 1) * 1000);
      const putRes = await put(uploadLater, 'x');
      expect(putRes.statusCode).toBe(403);
      expect(codeOf(putRes)).toBe('GANTRY_ERR_STORAGE_URL_EXPIRED');
      expect(codeOf(await get(local(download)))).toBe('GANTRY_ERR_STORAGE_URL_EXPIRED');
    });

    it.each([
      ['another filename in the path', (u: URL) => u.pathname.replace('tampered.txt', 'other.txt')],
      ['a later expiry', (u: URL) => setParam(u, 'X-Gantry-Expires', String(Number(u.searchParams.get('X-Gantry-Expires')) + 60))],
      ['a changed signature', (u: URL) => setParam(u, 'X-Gantry-Signature', `A${u.searchParams.get('X-Gantry-Signature')!.slice(1)}B`)],
      ['no signature', (u: URL) => setParam(u, 'X-Gantry-Signature', undefined)],
    ])('refuses a PUT with %s', async (_what, tamper) => {
      const url = new URL(await uploadUrl('tampered.txt'));
      const tampered = tamper(url);
      const target = tampered.startsWith('/') && !tampered.includes('?') ? `${tampered}${url.search}` : tampered;
      const res = await server.app.inject({ method: 'PUT', url: target, payload: 'x' });
      expect(res.statusCode).toBe(403);
      expect(codeOf(res)).toBe('GANTRY_ERR_STORAGE_BAD_SIGNATURE');
      expect(await server.deps.blobs.stat('tampered.txt')).toBeUndefined();
    });

    it('refuses a GET with a tampered signature even when a key is sent too', async () => {
      await upload('signed-get.txt', 'x');
      const location = new URL(String((await get('/v1/storage/signed-get.txt?signed=1', server.auth)).headers.location));
      const res = await get(setParam(location, 'X-Gantry-Nonce', 'forged'), server.auth);
      expect(res.statusCode).toBe(403);
      expect(codeOf(res)).toBe('GANTRY_ERR_STORAGE_BAD_SIGNATURE');
    });

    it('refuses an upload URL used for a GET, and a download URL used for a PUT', async () => {
      await upload('purpose.txt', 'x');
      expect(codeOf(await get(local(await uploadUrl('purpose.txt'))))).toBe('GANTRY_ERR_STORAGE_BAD_SIGNATURE');
      const download = String((await get('/v1/storage/purpose.txt?signed=1', server.auth)).headers.location);
      expect(codeOf(await put(download, 'y'))).toBe('GANTRY_ERR_STORAGE_BAD_SIGNATURE');
    });
  });

  describe('limits', () => {
    it('answers 413 for a body over max_upload_bytes and stores nothing', async () => {
      const res = await put(await uploadUrl('too-big.bin'), Buffer.alloc(MAX_UPLOAD + 1024));
      expect(res.statusCode).toBe(413);
      expect(codeOf(res)).toBe('GANTRY_ERR_STORAGE_FILE_TOO_LARGE');
      expect(await server.deps.blobs.stat('too-big.bin')).toBeUndefined();
      expect(codeOf(await get('/v1/storage/too-big.bin', server.auth))).toBe('GANTRY_ERR_STORAGE_NOT_FOUND');
    });
  });

  describe('filenames', () => {
    it.each([
      ['a ".." segment', '../escape'],
      ['a ".." in the middle', 'a/../../escape'],
      ['an absolute path', '/etc/passwd'],
      ['a NUL byte', 'a\u0000b'],
      ['a backslash', '..\\escape'],
      ['an empty segment', 'a//b'],
      ['an empty name', ''],
    ])('refuses %s in an upload request', async (_what, filename) => {
      const res = await post('/v1/storage/upload-request', { filename });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'GANTRY_ERR_STORAGE_BAD_FILENAME', param: 'filename' });
    });

    // The test client (like curl) resolves a literal "/../" before sending, so these are the spellings
    // that reach the server: encoded slashes and dots, a doubled slash, NUL and backslash.
    it.each([
      ['%2F-encoded ".."', '/v1/storage/a%2F..%2F..%2Fetc%2Fpasswd'],
      ['%2e%2e', '/v1/storage/%2e%2e%2fsecret'],
      ['an absolute path', '/v1/storage//etc/passwd'],
      ['a NUL byte', '/v1/storage/a%00b'],
      ['a backslash', '/v1/storage/..%5Csecret'],
      ['nothing', '/v1/storage/'],
    ])('refuses %s in a GET or PUT path', async (_what, path) => {
      for (const method of ['GET', 'PUT', 'HEAD'] as const) {
        const res = await server.app.inject({ method, url: path, headers: server.auth, payload: method === 'PUT' ? 'x' : undefined });
        expect(res.statusCode, `${method} ${path}`).toBe(400);
        if (method !== 'HEAD') expect(codeOf(res)).toBe('GANTRY_ERR_STORAGE_BAD_FILENAME');
      }
      expect(codeOf(await get(path.replace('/v1/storage/', '/v1/deployments/storage/'), server.auth))).toBe(
        'GANTRY_ERR_STORAGE_BAD_FILENAME',
      );
    });

    it('round-trips names with spaces and non-ASCII characters', async () => {
      await upload('vol/0/données ✓.txt', 'unicode');
      expect((await get(`/v1/storage/${encodeURIComponent('vol')}/0/${encodeURIComponent('données ✓.txt')}`, server.auth)).body).toBe(
        'unicode',
      );
    });

    it('uploads a file named multipart/<a>/<b>, which looks like a part URL', async () => {
      await upload('multipart/0/weights.bin', 'not a part');
      expect((await get('/v1/storage/multipart/0/weights.bin', server.auth)).body).toBe('not a part');
    });

    it('refuses a name that would need a stored file to be a directory', async () => {
      await upload('plain', 'x');
      const res = await put(await uploadUrl('plain/below'), 'y');
      expect(res.statusCode).toBe(409);
      expect(codeOf(res)).toBe('GANTRY_ERR_STORAGE_NAME_CONFLICT');
    });
  });

  describe('multipart', () => {
    const putPart = async (url: string, content: Buffer) => {
      const res = await put(url, content, { 'content-type': 'application/octet-stream' });
      expect(res.statusCode, res.body).toBe(200);
      return String(res.headers.etag);
    };

    it('concatenates three parts exactly, in part order', async () => {
      const start = await init('model/weights.bin', 3);
      expect(start.part_upload_urls.map((p) => [p.part_number, p.method])).toEqual([[1, 'PUT'], [2, 'PUT'], [3, 'PUT']]);
      const contents = [Buffer.alloc(1000, 1), Buffer.alloc(700, 2), Buffer.from('tail')];
      const etags: string[] = [];
      for (const i of [2, 0, 1]) etags[i] = await putPart(start.part_upload_urls[i]!.url, contents[i]!);
      expect(etags[0]).toMatch(/^"[0-9a-f]{64}"$/);
      const parts = etags.map((etag, i) => ({ part_number: i + 1, etag: etag.replaceAll('"', '') }));
      const done = await post('/v1/storage/multipart/complete', { filename: 'model/weights.bin', upload_id: start.upload_id, parts });
      expect(done.statusCode, done.body).toBe(200);
      const res = await get('/v1/storage/model/weights.bin', server.auth);
      expect(res.rawPayload.equals(Buffer.concat(contents))).toBe(true);
      expect(await server.deps.storage.options.staging.list('')).toEqual([]);
    });

    it('refuses to complete with a wrong etag, naming the part', async () => {
      const start = await init('mismatch.bin', 2);
      const first = await putPart(start.part_upload_urls[0]!.url, Buffer.from('a'));
      await putPart(start.part_upload_urls[1]!.url, Buffer.from('b'));
      const parts = [{ part_number: 1, etag: first }, { part_number: 2, etag: first }];
      const res = await post('/v1/storage/multipart/complete', { filename: 'mismatch.bin', upload_id: start.upload_id, parts });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'GANTRY_ERR_STORAGE_PARTS_INVALID', param: 'parts.1' });
    });

    it('aborts: the staged parts are removed and the upload is gone', async () => {
      const start = await init('aborted.bin', 2);
      await putPart(start.part_upload_urls[0]!.url, Buffer.from('part one'));
      expect(await server.deps.storage.options.staging.list(`${start.upload_id}/`)).toHaveLength(1);
      const res = await post('/v1/storage/multipart/abort', { filename: 'aborted.bin', upload_id: start.upload_id });
      expect(res.statusCode).toBe(200);
      expect(await server.deps.storage.options.staging.list(`${start.upload_id}/`)).toEqual([]);
      const late = await put(start.part_upload_urls[1]!.url, 'late');
      expect(codeOf(late)).toBe('GANTRY_ERR_STORAGE_UPLOAD_NOT_FOUND');
      const again = await post('/v1/storage/multipart/abort', { filename: 'aborted.bin', upload_id: start.upload_id });
      expect(codeOf(again)).toBe('GANTRY_ERR_STORAGE_UPLOAD_NOT_FOUND');
    });

    it.each([
      ['parts_count 0', { filename: 'x', parts_count: 0 }],
      ['parts_count over 10000', { filename: 'x', parts_count: 10_001 }],
      ['parts_count as a string', { filename: 'x', parts_count: '3' }],
      ['no filename', { parts_count: 3 }],
    ])('refuses an init with %s', async (_what, body) => {
      const res = await post('/v1/storage/multipart/init', body);
      expect(res.statusCode).toBe(400);
      expect(codeOf(res)).toBe('GANTRY_ERR_REQUEST_INVALID');
    });

    it('refuses a complete with a traversing filename', async () => {
      const res = await post('/v1/storage/multipart/complete', {
        filename: '../x',
        upload_id: 'u',
        parts: [{ part_number: 1, etag: 'e' }],
      });
      expect(codeOf(res)).toBe('GANTRY_ERR_STORAGE_BAD_FILENAME');
    });
  });

  describe('worker tokens', () => {
    // Direct HTTP outputs, as Sprocket names them (a fresh UUIDv4); job outputs: test/security/storage-namespaces.test.ts.
    const out9 = `${randomUUID()}-out.wav`;
    const big9 = `${randomUUID()}-big.bin`;
    const out10 = `${randomUUID()}-out.txt`;
    const out11 = `${randomUUID()}-out.txt`;

    it('may request upload URLs and multipart uploads, but not overwrite another deployment’s file', async () => {
      const depA = await workerAuth('dep-a');
      const depB = await workerAuth('dep-b');
      await upload(out9, 'from a', depA);
      await upload(out9, 'from a again', depA);
      const refused = await post('/v1/storage/upload-request', { filename: out9 }, depB);
      expect(refused.statusCode).toBe(403);
      expect(codeOf(refused)).toBe('GANTRY_ERR_STORAGE_OWNED_ELSEWHERE');
      const initRefused = await post('/v1/storage/multipart/init', { filename: out9, parts_count: 1 }, depB);
      expect(codeOf(initRefused)).toBe('GANTRY_ERR_STORAGE_OWNED_ELSEWHERE');
      expect((await init(big9, 1, depB)).part_upload_urls).toHaveLength(1);
    });

    it('reads its own deployment’s files only', async () => {
      const depA = await workerAuth('dep-a');
      const depB = await workerAuth('dep-b');
      await upload(out10, 'a', depA);
      expect((await get(`/v1/storage/${out10}`, depA)).body).toBe('a');
      expect((await get(`/v1/storage/${out10}?signed=1`, depA)).statusCode).toBe(307);
      expect(codeOf(await get(`/v1/storage/${out10}`, depB))).toBe('GANTRY_ERR_STORAGE_OWNED_ELSEWHERE');
    });

    it('cannot call the user-only routes', async () => {
      const depA = await workerAuth('dep-a');
      await upload(out11, 'a', depA);
      const res = await get(`/v1/deployments/storage/${out11}`, depA);
      expect(res.statusCode).toBe(403);
      expect(codeOf(res)).toBe('GANTRY_ERR_AUTH_FORBIDDEN');
    });
  });
});

describe('storage across a restart', () => {
  it('still serves a file written before the server was closed', async () => {
    const first = await createTestServer();
    const url = new URL(
      (await first.app.inject({ method: 'POST', url: '/v1/storage/upload-request', headers: first.auth, payload: { filename: 'kept/file.txt' } })).json()
        .upload_url.url,
    );
    expect((await first.app.inject({ method: 'PUT', url: url.pathname + url.search, payload: 'survives' })).statusCode).toBe(200);
    const { dataDir, adminKey } = first;
    await first.app.close();
    await first.deps.state.close();

    const second = await createTestServer({ dataDir });
    try {
      const res = await second.app.inject({
        method: 'GET',
        url: '/v1/storage/kept/file.txt',
        headers: { authorization: `Bearer ${adminKey}` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('survives');
      const reused = await second.app.inject({ method: 'PUT', url: url.pathname + url.search, payload: 'again' });
      expect(reused.json().error.code).toBe('GANTRY_ERR_STORAGE_URL_USED');
    } finally {
      await second.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

function setParam(url: URL, name: string, value: string | undefined): string {
  const copy = new URL(url);
  if (value === undefined) copy.searchParams.delete(name);
  else copy.searchParams.set(name, value);
  return copy.pathname + copy.search;
}

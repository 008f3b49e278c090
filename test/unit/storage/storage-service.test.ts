import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../../src/auth/principal.js';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';
import { StorageService } from '../../../src/storage/storage-service.js';
import type { JobLookup } from '../../../src/storage/worker-outputs.js';
import { newId } from '../../../src/shared/ids.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';
import { FakeClock } from '../../helpers/test-server.js';

const TTL = 600;
const BASE = 'https://gantry.test:8443';
const user: Principal = { kind: 'user', keyId: 'key_user', name: 'alice', role: 'user' };
const worker = (deploymentId: string, replicaId: string | null = 'r1'): Principal => ({
  kind: 'worker',
  keyId: `key_${deploymentId}`,
  name: `worker:${deploymentId}`,
  deploymentId,
  replicaId: replicaId ?? undefined,
});

/** Jobs by `<deployment>/<request id>`, as the queue's records hold them. */
class FakeJobs implements JobLookup {
  readonly jobs = new Map<string, { status: 'running' | 'done'; claim?: { replica_id?: string } }>();
  async load(deploymentId: string, requestId: string) {
    return this.jobs.get(`${deploymentId}/${requestId}`);
  }
  running(deploymentId: string, replicaId = 'r1'): string {
    const requestId = newId();
    this.jobs.set(`${deploymentId}/${requestId}`, { status: 'running', claim: { replica_id: replicaId } });
    return requestId;
  }
}

/** A direct HTTP request's output name, as Sprocket makes it (a fresh UUIDv4). */
const httpOutput = (name: string): string => `${randomUUID()}-${name}`;

/** The query of a signed URL, as Fastify would parse it. */
const queryOf = (url: string): Record<string, string> => Object.fromEntries(new URL(url).searchParams);
const body = (content: string | Buffer): Readable => Readable.from([Buffer.from(content)]);

describe('StorageService', () => {
  let dir: string;
  let clock: FakeClock;
  let state: MemoryStateStore;
  let staging: DirectoryBlobStore;
  let blobs: DirectoryBlobStore;
  let storage: StorageService;
  let jobs: FakeJobs;

  beforeEach(() => {
    jobs = new FakeJobs();
    dir = mkdtempSync(path.join(tmpdir(), 'gantry-storage-'));
    clock = new FakeClock();
    state = new MemoryStateStore();
    blobs = new DirectoryBlobStore(path.join(dir, 'files'));
    staging = new DirectoryBlobStore(path.join(dir, 'multipart'));
    const signingKey = Buffer.alloc(32, 7);
    storage = new StorageService({ state, blobs, staging, jobs, signingKey, clock, ttlSeconds: TTL, maxUploadBytes: 1000 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const contentOf = async (filename: string) => text((await storage.open(filename)).stream);
  const uploadAs = async (principal: Principal, filename: string, content: string) => {
    const { url } = await storage.createUploadUrl(filename, principal, BASE);
    return storage.acceptUpload(filename, queryOf(url), body(content));
  };

  describe('signed upload URLs', () => {
    it('hands out a PUT of <base>/v1/storage/<encoded name> that needs no headers', async () => {
      const signed = await storage.createUploadUrl('vol/0/a b.txt', user, BASE);
      expect(signed).toMatchObject({ method: 'PUT', headers: {} });
      const url = new URL(signed.url);
      expect(`${url.origin}${url.pathname}`).toBe(`${BASE}/v1/storage/vol/0/a%20b.txt`);
      expect([...url.searchParams.keys()]).toEqual(
        expect.arrayContaining(['X-Gantry-Expires', 'X-Gantry-Nonce', 'X-Gantry-Signature']),
      );
    });

    it('stores the body and answers its SHA-256 as the ETag', async () => {
      const stored = await uploadAs(user, 'out.txt', 'hello');
      expect(stored.info.size).toBe(5);
      expect(stored.etag).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
      expect(await contentOf('out.txt')).toBe('hello');
    });

    it.each([
      ['another filename', (q: Record<string, string>) => q, 'other.txt'],
      ['a changed expiry', (q: Record<string, string>) => ({ ...q, 'X-Gantry-Expires': String(Number(q['X-Gantry-Expires']) + 3600) }), 'f.txt'],
      ['a changed nonce', (q: Record<string, string>) => ({ ...q, 'X-Gantry-Nonce': 'AAAA' + q['X-Gantry-Nonce']!.slice(4) }), 'f.txt'],
      ['a flipped signature character', (q: Record<string, string>) => ({ ...q, 'X-Gantry-Signature': flip(q['X-Gantry-Signature']!) }), 'f.txt'],
      ['a truncated signature', (q: Record<string, string>) => ({ ...q, 'X-Gantry-Signature': q['X-Gantry-Signature']!.slice(0, 20) }), 'f.txt'],
      ['no signature', ({ 'X-Gantry-Signature': _, ...q }: Record<string, string>) => q, 'f.txt'],
      ['no expiry', ({ 'X-Gantry-Expires': _, ...q }: Record<string, string>) => q, 'f.txt'],
      ['a non-numeric expiry', (q: Record<string, string>) => ({ ...q, 'X-Gantry-Expires': '1e12' }), 'f.txt'],
    ])('refuses an upload with %s', async (_what, tamper, filename) => {
      const { url } = await storage.createUploadUrl('f.txt', user, BASE);
      await expect(storage.acceptUpload(filename, tamper(queryOf(url)), body('x'))).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_BAD_SIGNATURE',
      });
      expect(await blobs.list('')).toEqual([]);
    });

    it('refuses a parameter given twice', async () => {
      const { url } = await storage.createUploadUrl('f.txt', user, BASE);
      const query = { ...queryOf(url), 'X-Gantry-Signature': [queryOf(url)['X-Gantry-Signature'], 'x'] };
      await expect(storage.acceptUpload('f.txt', query, body('x'))).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_BAD_SIGNATURE',
      });
    });

    it('accepts an upload up to the last second of the TTL and refuses it after', async () => {
      const first = await storage.createUploadUrl('a', user, BASE);
      const second = await storage.createUploadUrl('b', user, BASE);
      clock.advance(TTL * 1000);
      await expect(storage.acceptUpload('a', queryOf(first.url), body('x'))).resolves.toBeDefined();
      clock.advance(1000);
      await expect(storage.acceptUpload('b', queryOf(second.url), body('x'))).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_URL_EXPIRED',
      });
    });

    it('refuses a second upload through a URL that already succeeded', async () => {
      const { url } = await storage.createUploadUrl('once', user, BASE);
      await storage.acceptUpload('once', queryOf(url), body('first'));
      await expect(storage.acceptUpload('once', queryOf(url), body('second'))).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_URL_USED',
      });
      expect(await contentOf('once')).toBe('first');
    });

    it('lets a retry through the same URL succeed after a failed upload', async () => {
      const { url } = await storage.createUploadUrl('retry', user, BASE);
      await expect(storage.acceptUpload('retry', queryOf(url), body(Buffer.alloc(1001)))).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_FILE_TOO_LARGE',
      });
      expect(await blobs.stat('retry')).toBeUndefined();
      await storage.acceptUpload('retry', queryOf(url), body('fits'));
      expect(await contentOf('retry')).toBe('fits');
    });

    it('refuses a signature made for another purpose', async () => {
      await uploadAs(user, 'f', 'x');
      const download = await storage.createDownloadUrl('f', BASE);
      await expect(storage.acceptUpload('f', queryOf(download), body('y'))).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_BAD_SIGNATURE',
      });
    });

    it('records who asked for the URL on its ticket, and sweeps tickets once they expire', async () => {
      const t = httpOutput('t');
      const { url } = await storage.createUploadUrl(t, worker('dep-a'), BASE);
      const ticket = await state.get(`storage/tickets/${queryOf(url)['X-Gantry-Nonce']}`);
      expect(JSON.parse(ticket!.value)).toMatchObject({
        filename: t,
        used_at: null,
        requested_by: { kind: 'worker', key_id: 'key_dep-a', deployment_id: 'dep-a', replica_id: 'r1' },
      });
      expect(await storage.sweepExpired()).toEqual({ tickets: 0, uploads: 0 });
      clock.advance((TTL + 1) * 1000);
      expect(await storage.sweepExpired()).toEqual({ tickets: 1, uploads: 0 });
      expect(await state.list('storage/tickets/')).toEqual([]);
    });

    it('sweeps expired tickets on its own while handing out new URLs', async () => {
      await storage.createUploadUrl('old', user, BASE);
      clock.advance((TTL + 1) * 1000);
      await storage.createUploadUrl('new', user, BASE);
      const tickets = (await state.list('storage/tickets/')).map((e) => JSON.parse(e.value).filename);
      expect(tickets).toEqual(['new']);
    });
  });

  describe('worker uploads: only the outputs of the job the worker runs (issue 15 item 2)', () => {
    const refusal = { code: 'GANTRY_ERR_STORAGE_NOT_JOB_OUTPUT' };

    it('refuses names inside a volume’s prefix or the queue’s, and names of no job', async () => {
      for (const name of ['vol-data/pantry/0/injected.py', `queue/${newId()}`, 'plain.txt', `${newId()}-x/y.txt`]) {
        await expect(storage.createUploadUrl(name, worker('dep-a'), BASE), name).rejects.toMatchObject(refusal);
      }
    });

    it('takes <request id>-<name> for a running job of its deployment held by its replica', async () => {
      const requestId = jobs.running('dep-a', 'r1');
      await uploadAs(worker('dep-a'), `${requestId}-out.png`, 'png');
      expect(await contentOf(`${requestId}-out.png`)).toBe('png');
    });

    it('refuses another replica’s, another deployment’s and a finished job’s outputs', async () => {
      const elsewhere = jobs.running('dep-a', 'r2');
      const other = jobs.running('dep-b', 'r1');
      const finished = jobs.running('dep-a', 'r1');
      jobs.jobs.set(`dep-a/${finished}`, { status: 'done', claim: { replica_id: 'r1' } });
      for (const requestId of [elsewhere, other, finished]) {
        await expect(storage.createUploadUrl(`${requestId}-out.png`, worker('dep-a'), BASE)).rejects.toMatchObject(refusal);
      }
    });

    it('checks again when the bytes arrive: the job may have ended since', async () => {
      const requestId = jobs.running('dep-a');
      const { url } = await storage.createUploadUrl(`${requestId}-late.bin`, worker('dep-a'), BASE);
      jobs.jobs.set(`dep-a/${requestId}`, { status: 'done' });
      await expect(storage.acceptUpload(`${requestId}-late.bin`, queryOf(url), body('x'))).rejects.toMatchObject(refusal);
    });

    it('binds a deployment-wide token (Nomad) to running jobs of its deployment', async () => {
      const nomadWorker = worker('dep-a', null); // issued to the deployment, not to one replica
      await uploadAs(nomadWorker, `${jobs.running('dep-a', 'alloc-1')}-o.txt`, 'ok');
      await expect(storage.createUploadUrl(`${jobs.running('dep-b')}-o.txt`, nomadWorker, BASE)).rejects.toMatchObject(refusal);
    });
  });

  describe('ownership', () => {
    const aBin = httpOutput('a.bin');
    const raceBin = httpOutput('race.bin');
    const f = httpOutput('f');

    it('lets a worker write new names and its own files, not another deployment’s', async () => {
      await uploadAs(worker('dep-a'), aBin, 'a1');
      await uploadAs(worker('dep-a'), aBin, 'a2');
      await expect(storage.createUploadUrl(aBin, worker('dep-b'), BASE)).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_OWNED_ELSEWHERE',
      });
      expect(await contentOf(aBin)).toBe('a2');
    });

    it('checks ownership again when the bytes arrive', async () => {
      const { url } = await storage.createUploadUrl(raceBin, worker('dep-b'), BASE);
      await uploadAs(worker('dep-a'), raceBin, 'from a');
      await expect(storage.acceptUpload(raceBin, queryOf(url), body('from b'))).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_OWNED_ELSEWHERE',
      });
      expect(await contentOf(raceBin)).toBe('from a');
    });

    it('lets a user overwrite anything, after which the file is the users’', async () => {
      await uploadAs(worker('dep-a'), f, 'worker');
      await uploadAs(user, f, 'user');
      await expect(storage.createUploadUrl(f, worker('dep-a'), BASE)).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_OWNED_ELSEWHERE',
      });
    });

    it('treats a stored file without a record as the users’', async () => {
      const file = httpOutput('file');
      await blobs.write(file, Buffer.from('x'));
      await expect(storage.createUploadUrl(file, worker('dep-a'), BASE)).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_OWNED_ELSEWHERE',
      });
    });

    it('lets a worker read only its own deployment’s files', async () => {
      const mine = `${jobs.running('dep-a')}-mine`;
      await uploadAs(worker('dep-a'), mine, 'x');
      await expect(text((await storage.open(mine, worker('dep-a'))).stream)).resolves.toBe('x');
      await expect(storage.open(mine, worker('dep-b'))).rejects.toMatchObject({ code: 'GANTRY_ERR_STORAGE_OWNED_ELSEWHERE' });
      await expect(storage.createDownloadUrl(mine, BASE, worker('dep-b'))).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_OWNED_ELSEWHERE',
      });
      await expect(storage.open('nothing', worker('dep-a'))).rejects.toMatchObject({ code: 'GANTRY_ERR_STORAGE_NOT_FOUND' });
    });
  });

  describe('downloads', () => {
    it('verifies a download URL any number of times until it expires', async () => {
      await uploadAs(user, 'd.txt', 'x');
      const query = queryOf(await storage.createDownloadUrl('d.txt', BASE));
      storage.verifyDownload('d.txt', query);
      storage.verifyDownload('d.txt', query);
      expect(() => storage.verifyDownload('other.txt', query)).toThrow(expect.objectContaining({ code: 'GANTRY_ERR_STORAGE_BAD_SIGNATURE' }));
      clock.advance((TTL + 1) * 1000);
      expect(() => storage.verifyDownload('d.txt', query)).toThrow(expect.objectContaining({ code: 'GANTRY_ERR_STORAGE_URL_EXPIRED' }));
    });

    it('answers not found for a missing file', async () => {
      await expect(storage.open('missing')).rejects.toMatchObject({ code: 'GANTRY_ERR_STORAGE_NOT_FOUND' });
      await expect(storage.createDownloadUrl('missing', BASE)).rejects.toMatchObject({ code: 'GANTRY_ERR_STORAGE_NOT_FOUND' });
    });
  });

  describe('multipart uploads', () => {
    const putParts = async (uploadId: string, urls: Array<{ part_number: number; url: string }>, contents: string[]) => {
      const etags = new Map<number, string>();
      // Reverse order, as a concurrent uploader may finish them.
      for (const { part_number, url } of [...urls].reverse()) {
        const part = await storage.acceptPart(uploadId, part_number, queryOf(url), body(contents[part_number - 1]!));
        etags.set(part_number, part.etag);
      }
      return etags;
    };

    it('concatenates the parts in part order whatever order they arrive and are listed in', async () => {
      const start = await storage.initMultipart('big.bin', 3, user, BASE);
      expect(start.part_upload_urls.map((p) => p.part_number)).toEqual([1, 2, 3]);
      const etags = await putParts(start.upload_id, start.part_upload_urls, ['one-', 'two-', 'three']);
      const parts = [3, 1, 2].map((n) => ({ part_number: n, etag: `"${etags.get(n)}"` }));
      const file = await storage.completeMultipart('big.bin', start.upload_id, parts, user);
      expect(file.info.size).toBe('one-two-three'.length);
      expect(await contentOf('big.bin')).toBe('one-two-three');
      expect(await staging.list('')).toEqual([]);
      expect(await state.list('storage/multipart/')).toEqual([]);
      expect(await state.list('storage/parts/')).toEqual([]);
    });

    it('keeps the last version of a part sent twice', async () => {
      const start = await storage.initMultipart('f', 1, user, BASE);
      const query = queryOf(start.part_upload_urls[0]!.url);
      await storage.acceptPart(start.upload_id, 1, query, body('first'));
      const again = await storage.acceptPart(start.upload_id, 1, query, body('second'));
      await storage.completeMultipart('f', start.upload_id, [{ part_number: 1, etag: again.etag }], user);
      expect(await contentOf('f')).toBe('second');
    });

    it.each([
      ['an etag that does not match', (e: Map<number, string>) => [1, 2].map((n) => ({ part_number: n, etag: n === 2 ? 'beef' : e.get(n)! })), 'parts.1'],
      ['a part left out', (e: Map<number, string>) => [{ part_number: 1, etag: e.get(1)! }], 'parts'],
      ['a part listed twice', (e: Map<number, string>) => [1, 1, 2].map((n) => ({ part_number: n, etag: e.get(n)! })), 'parts.1'],
      ['a part number out of range', (e: Map<number, string>) => [1, 2, 3].map((n) => ({ part_number: n, etag: e.get(n) ?? 'x' })), 'parts.2'],
    ])('refuses to complete with %s and keeps the upload', async (_what, partsOf, param) => {
      const start = await storage.initMultipart('m', 2, user, BASE);
      const etags = await putParts(start.upload_id, start.part_upload_urls, ['aa', 'bb']);
      await expect(storage.completeMultipart('m', start.upload_id, partsOf(etags), user)).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_PARTS_INVALID',
        param,
      });
      expect(await blobs.stat('m')).toBeUndefined();
      const ok = [1, 2].map((n) => ({ part_number: n, etag: etags.get(n)! }));
      await storage.completeMultipart('m', start.upload_id, ok, user);
      expect(await contentOf('m')).toBe('aabb');
    });

    it('refuses to complete when a listed part was never uploaded', async () => {
      const start = await storage.initMultipart('m', 2, user, BASE);
      const first = await storage.acceptPart(start.upload_id, 1, queryOf(start.part_upload_urls[0]!.url), body('a'));
      const parts = [{ part_number: 1, etag: first.etag }, { part_number: 2, etag: first.etag }];
      await expect(storage.completeMultipart('m', start.upload_id, parts, user)).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_PARTS_INVALID',
        param: 'parts.1',
      });
    });

    it('refuses parts that add up to more than the upload limit', async () => {
      const start = await storage.initMultipart('huge', 2, user, BASE);
      const etags = await putParts(start.upload_id, start.part_upload_urls, ['x'.repeat(600), 'y'.repeat(600)]);
      const parts = [1, 2].map((n) => ({ part_number: n, etag: etags.get(n)! }));
      await expect(storage.completeMultipart('huge', start.upload_id, parts, user)).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_FILE_TOO_LARGE',
      });
    });

    it('aborts: parts and record are gone, and the upload id is unknown from then on', async () => {
      const start = await storage.initMultipart('gone', 2, user, BASE);
      const etags = await putParts(start.upload_id, start.part_upload_urls, ['a', 'b']);
      await storage.abortMultipart('gone', start.upload_id, user);
      expect(await staging.list('')).toEqual([]);
      expect(await state.list('storage/parts/')).toEqual([]);
      const parts = [1, 2].map((n) => ({ part_number: n, etag: etags.get(n)! }));
      const notFound = { code: 'GANTRY_ERR_STORAGE_UPLOAD_NOT_FOUND' };
      await expect(storage.completeMultipart('gone', start.upload_id, parts, user)).rejects.toMatchObject(notFound);
      const url = start.part_upload_urls[0]!.url;
      await expect(storage.acceptPart(start.upload_id, 1, queryOf(url), body('late'))).rejects.toMatchObject(notFound);
      expect(await staging.list('')).toEqual([]);
    });

    it('answers upload-not-found for another filename or another deployment’s worker', async () => {
      const owned = httpOutput('owned');
      const start = await storage.initMultipart(owned, 1, worker('dep-a'), BASE);
      const notFound = { code: 'GANTRY_ERR_STORAGE_UPLOAD_NOT_FOUND' };
      await expect(storage.abortMultipart('other', start.upload_id, worker('dep-a'))).rejects.toMatchObject(notFound);
      await expect(storage.abortMultipart(owned, start.upload_id, worker('dep-b'))).rejects.toMatchObject(notFound);
      await expect(storage.abortMultipart(owned, 'no-such-id', user)).rejects.toMatchObject(notFound);
      await storage.abortMultipart(owned, start.upload_id, worker('dep-a'));
    });

    it('records the deployment that started the upload as the owner', async () => {
      const mp = httpOutput('mp');
      const start = await storage.initMultipart(mp, 1, worker('dep-a'), BASE);
      const part = await storage.acceptPart(start.upload_id, 1, queryOf(start.part_upload_urls[0]!.url), body('x'));
      await storage.completeMultipart(mp, start.upload_id, [{ part_number: 1, etag: part.etag }], worker('dep-a'));
      await expect(storage.initMultipart(mp, 1, worker('dep-b'), BASE)).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_OWNED_ELSEWHERE',
      });
    });

    it('refuses a part URL for another part number', async () => {
      const start = await storage.initMultipart('p', 2, user, BASE);
      const query = queryOf(start.part_upload_urls[0]!.url);
      await expect(storage.acceptPart(start.upload_id, 2, query, body('x'))).rejects.toMatchObject({
        code: 'GANTRY_ERR_STORAGE_BAD_SIGNATURE',
      });
    });

    it('sweeps an abandoned upload with its parts once it expires', async () => {
      const start = await storage.initMultipart('abandoned', 2, user, BASE);
      await putParts(start.upload_id, start.part_upload_urls, ['a', 'b']);
      clock.advance(TTL * 1000);
      expect((await storage.sweepExpired()).uploads).toBe(0);
      clock.advance((TTL + 1) * 1000);
      expect((await storage.sweepExpired()).uploads).toBe(1);
      expect(await staging.list('')).toEqual([]);
      expect(await state.list('storage/')).toEqual([]);
    });
  });
});

/** Changes the first character of a base64url string to another valid one. */
function flip(signature: string): string {
  return (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
}

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobTooLargeError } from '../../../src/blobs/blob-store.js';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';

/** What the contract cannot say about a directory: layout, modes, temp files, name conflicts. */
describe('DirectoryBlobStore', () => {
  let parent: string;
  let root: string;
  let store: DirectoryBlobStore;

  beforeEach(() => {
    parent = mkdtempSync(path.join(tmpdir(), 'gantry-dirblobs-'));
    root = path.join(parent, 'files');
    store = new DirectoryBlobStore(root);
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  const tempFiles = () => readdirSync(path.join(root, '.gantry-tmp'));

  it('creates nothing until first used, then a 0700 root', async () => {
    expect(existsSync(root)).toBe(false);
    await store.write('a', Buffer.from('x'));
    expect(statSync(root).mode & 0o777).toBe(0o700);
  });

  it('keeps blob a/b.txt at <root>/a/b.txt with mode 0600 in 0700 directories', async () => {
    await store.write('a/b.txt', Buffer.from('content'));
    const file = path.join(root, 'a', 'b.txt');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  });

  it('leaves no temp file behind after a write or a refused one', async () => {
    await store.write('ok', Buffer.from('x'));
    await expect(store.write('big', Buffer.alloc(5), { maxBytes: 4 })).rejects.toBeInstanceOf(BlobTooLargeError);
    expect(tempFiles()).toEqual([]);
  });

  it('removes temp files left by a dead writer once they are stale, and only those', async () => {
    mkdirSync(path.join(root, '.gantry-tmp'), { recursive: true });
    const stale = path.join(root, '.gantry-tmp', 'dead');
    const fresh = path.join(root, '.gantry-tmp', 'running');
    writeFileSync(stale, 'x');
    writeFileSync(fresh, 'y');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(stale, twoHoursAgo, twoHoursAgo);
    await store.write('a', Buffer.from('x'));
    expect(tempFiles()).toEqual(['running']);
    expect((await store.list('')).map((i) => i.name)).toEqual(['a']);
  });

  it('prunes directories a delete left empty, but not the root', async () => {
    await store.write('v/1/deep/file', Buffer.from('x'));
    await store.write('v/keep', Buffer.from('x'));
    await store.delete('v/1/deep/file');
    expect(existsSync(path.join(root, 'v', '1'))).toBe(false);
    expect(existsSync(path.join(root, 'v', 'keep'))).toBe(true);
    await store.delete('v/keep');
    expect(existsSync(root)).toBe(true);
  });

  it('refuses a name that needs a stored file to be a directory, and the reverse', async () => {
    await store.write('a', Buffer.from('file'));
    await expect(store.write('a/b', Buffer.from('x'))).rejects.toMatchObject({ name: 'BlobNameConflictError' });
    await store.write('d/e', Buffer.from('x'));
    await expect(store.write('d', Buffer.from('x'))).rejects.toMatchObject({ name: 'BlobNameConflictError' });
    expect((await store.list('')).map((i) => i.name)).toEqual(['a', 'd/e']);
    expect(tempFiles()).toEqual([]);
  });

  it('does not treat a directory as a blob on delete', async () => {
    await store.write('dir/file', Buffer.from('x'));
    expect(await store.delete('dir')).toBe(false);
    expect(await store.stat('dir/file')).toBeDefined();
  });

  it('does not list files that no write could have produced', async () => {
    await store.write('good', Buffer.from('x'));
    writeFileSync(path.join(root, 'bad\nname'), 'x');
    expect((await store.list('')).map((i) => i.name)).toEqual(['good']);
  });
});

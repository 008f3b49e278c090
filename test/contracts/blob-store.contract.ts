import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobTooLargeError, type BlobStore } from '../../src/blobs/blob-store.js';

/**
 * The BlobStore contract: every implementation (a local directory today, object storage later) must pass
 * it. `makeStore` returns a fresh, empty store; `cleanup` (optional) removes what it created.
 */
export function describeBlobStoreContract(
  name: string,
  makeStore: () => Promise<BlobStore>,
  cleanup: (store: BlobStore) => Promise<void> = async () => {},
): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => cleanup(store));

    const contentOf = async (blob: string): Promise<string | undefined> => {
      const found = await store.read(blob);
      return found && text(found.stream);
    };
    const streamOf = (...chunks: string[]): Readable => Readable.from(chunks.map((c) => Buffer.from(c)));

    it('writes from a Buffer and reads back the bytes and their size', async () => {
      const info = await store.write('out/a.txt', Buffer.from('héllo ✓'));
      expect(info).toMatchObject({ name: 'out/a.txt', size: Buffer.byteLength('héllo ✓') });
      expect(Date.parse(info.lastModified)).not.toBeNaN();
      const found = await store.read('out/a.txt');
      expect(found?.info).toMatchObject({ name: 'out/a.txt', size: info.size });
      expect(await text(found!.stream)).toBe('héllo ✓');
    });

    it('writes from a Readable of several chunks', async () => {
      const info = await store.write('chunks.bin', streamOf('one,', 'two,', 'three'));
      expect(info.size).toBe('one,two,three'.length);
      expect(await contentOf('chunks.bin')).toBe('one,two,three');
    });

    it('stores an empty blob', async () => {
      expect((await store.write('empty', Buffer.alloc(0))).size).toBe(0);
      expect(await store.stat('empty')).toMatchObject({ name: 'empty', size: 0 });
      expect(await contentOf('empty')).toBe('');
    });

    it('replaces the content on overwrite', async () => {
      await store.write('a', Buffer.from('a much longer first version'));
      await store.write('a', Buffer.from('v2'));
      expect(await store.stat('a')).toMatchObject({ size: 2 });
      expect(await contentOf('a')).toBe('v2');
    });

    it('answers undefined for stat and read of a blob that does not exist', async () => {
      expect(await store.stat('missing')).toBeUndefined();
      expect(await store.read('missing')).toBeUndefined();
      await store.write('dir/file', Buffer.from('x'));
      expect(await store.stat('dir')).toBeUndefined();
      expect(await store.read('dir/file/below')).toBeUndefined();
    });

    it('deletes a blob and reports whether it existed', async () => {
      await store.write('d/e/f', Buffer.from('x'));
      expect(await store.delete('d/e/f')).toBe(true);
      expect(await store.stat('d/e/f')).toBeUndefined();
      expect(await store.delete('d/e/f')).toBe(false);
      expect(await store.delete('never')).toBe(false);
    });

    it('can write a name again under a directory that a delete emptied', async () => {
      await store.write('x/y/z', Buffer.from('1'));
      await store.delete('x/y/z');
      await store.write('x/y/z', Buffer.from('2'));
      expect(await contentOf('x/y/z')).toBe('2');
    });

    it('lists by string prefix, recursively, sorted by name', async () => {
      for (const blob of ['vol/1/b.txt', 'vol/1/a/deep.txt', 'vol/10/c.txt', 'vol/1x', 'other.txt']) {
        await store.write(blob, Buffer.from(blob));
      }
      const names = async (prefix: string) => (await store.list(prefix)).map((info) => info.name);
      expect(await names('vol/1/')).toEqual(['vol/1/a/deep.txt', 'vol/1/b.txt']);
      expect(await names('vol/1')).toEqual(['vol/1/a/deep.txt', 'vol/1/b.txt', 'vol/10/c.txt', 'vol/1x']);
      expect(await names('')).toEqual(['other.txt', 'vol/1/a/deep.txt', 'vol/1/b.txt', 'vol/10/c.txt', 'vol/1x']);
      expect(await names('vol/2/')).toEqual([]);
      expect(await names('../')).toEqual([]);
    });

    it('lists sizes with the names', async () => {
      await store.write('s/one', Buffer.from('1'));
      await store.write('s/three', Buffer.from('333'));
      expect((await store.list('s/')).map((i) => [i.name, i.size])).toEqual([
        ['s/one', 1],
        ['s/three', 3],
      ]);
    });

    it('accepts a write of exactly maxBytes', async () => {
      expect((await store.write('fits', Buffer.alloc(10), { maxBytes: 10 })).size).toBe(10);
    });

    it('refuses a write over maxBytes and keeps the old content', async () => {
      await store.write('limited', Buffer.from('old'));
      await expect(store.write('limited', streamOf('12345', '67890', 'X'), { maxBytes: 10 })).rejects.toBeInstanceOf(
        BlobTooLargeError,
      );
      await expect(store.write('limited', Buffer.alloc(11), { maxBytes: 10 })).rejects.toBeInstanceOf(BlobTooLargeError);
      expect(await contentOf('limited')).toBe('old');
      expect((await store.list('')).map((i) => i.name)).toEqual(['limited']);
    });

    it('stores nothing when a new blob is over maxBytes', async () => {
      await expect(store.write('new', Buffer.alloc(11), { maxBytes: 10 })).rejects.toBeInstanceOf(BlobTooLargeError);
      expect(await store.stat('new')).toBeUndefined();
      expect(await store.list('')).toEqual([]);
    });

    it('keeps the old content when the source fails midway', async () => {
      await store.write('flaky', Buffer.from('old'));
      const source = new PassThrough();
      const writing = store.write('flaky', source);
      source.write('partial');
      source.destroy(new Error('client went away'));
      await expect(writing).rejects.toThrow('client went away');
      expect(await contentOf('flaky')).toBe('old');
      expect(await store.list('')).toHaveLength(1);
    });

    it('shows readers the old content while a write is still in progress', async () => {
      await store.write('atomic', Buffer.from('old'));
      const source = new PassThrough();
      const writing = store.write('atomic', source);
      source.write('new-but-not-finished');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await contentOf('atomic')).toBe('old');
      expect((await store.list('')).map((i) => i.name)).toEqual(['atomic']);
      source.end('!');
      await writing;
      expect(await contentOf('atomic')).toBe('new-but-not-finished!');
    });

    it('leaves one complete version after concurrent writes of the same name', async () => {
      const versions = Array.from({ length: 8 }, (_, i) => `${i}:`.padEnd(1000 * (i + 1), String(i)));
      await Promise.all(versions.map((v) => store.write('race', streamOf(v.slice(0, 500), v.slice(500)))));
      const content = await contentOf('race');
      expect(versions).toContain(content);
      expect((await store.stat('race'))?.size).toBe(content!.length);
      expect((await store.list('')).map((i) => i.name)).toEqual(['race']);
    });

    it.each([
      ['an empty name', ''],
      ['a leading slash', '/etc/passwd'],
      ['a ".." segment', '../outside'],
      ['a ".." in the middle', 'a/../../outside'],
      ['a "." segment', 'a/./b'],
      ['an empty segment', 'a//b'],
      ['a trailing slash', 'a/'],
      ['a backslash', 'a\\..\\b'],
      ['a NUL byte', 'a\u0000b'],
      ['a newline', 'a\nb'],
      ['a name over 1024 bytes', `${'x'.repeat(200)}/`.repeat(6) + 'x'],
      ['a segment over 255 bytes', 'x'.repeat(256)],
      ['a reserved segment', '.gantry-tmp/x'],
    ])('refuses %s for every operation', async (_what, blob) => {
      const refused = { name: 'InvalidBlobNameError' };
      await expect(store.write(blob, Buffer.from('x'))).rejects.toMatchObject(refused);
      await expect(store.read(blob)).rejects.toMatchObject(refused);
      await expect(store.stat(blob)).rejects.toMatchObject(refused);
      await expect(store.delete(blob)).rejects.toMatchObject(refused);
      expect(await store.list('')).toEqual([]);
    });

    it('accepts names with spaces, dots and non-ASCII characters', async () => {
      for (const blob of ['.env', 'a b/..c', 'données/✓.txt', 'v/0/weights.safetensors']) {
        await store.write(blob, Buffer.from(blob));
        expect(await contentOf(blob)).toBe(blob);
      }
    });

    it('copies a blob; the copy keeps its content when the original is rewritten or deleted', async () => {
      await store.write('src/a.txt', Buffer.from('first'));
      expect(await store.copy('src/a.txt', 'frozen/1/a.txt')).toMatchObject({ name: 'frozen/1/a.txt', size: 5 });
      await store.write('src/a.txt', Buffer.from('second'));
      expect(await contentOf('frozen/1/a.txt')).toBe('first');
      await store.delete('src/a.txt');
      expect(await contentOf('frozen/1/a.txt')).toBe('first');
      expect(await store.copy('src/a.txt', 'frozen/2/a.txt')).toBeUndefined();
      expect(await store.stat('frozen/2/a.txt')).toBeUndefined();
    });

    it('replaces an existing blob with a copy', async () => {
      await store.write('a', Buffer.from('a'));
      await store.write('b', Buffer.from('b'));
      await store.copy('a', 'b');
      expect(await contentOf('b')).toBe('a');
    });
  });
}

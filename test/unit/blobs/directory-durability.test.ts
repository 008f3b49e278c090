import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';
import { contentFor } from '../../fixtures/blob-writer.js';
import { killAfterAcks } from '../../helpers/spawn-ts.js';

const WRITER = 'test/fixtures/blob-writer.ts';

/** Starts a writer and SIGKILLs it once it has acknowledged `acks` writes; returns the last acknowledged n. */
async function killWriterAfter(root: string, acks: number): Promise<number> {
  const { last, ended } = await killAfterAcks(WRITER, ['write', root], acks);
  expect(ended).toBe('SIGKILL');
  return last;
}

describe('DirectoryBlobStore durability', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged write whole after kill -9, and shows no torn or temporary file', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gantry-blob-durable-'));
    const root = path.join(dir, 'files');
    const last = await killWriterAfter(root, 20);
    const store = new DirectoryBlobStore(root);
    for (let n = 0; n <= last; n++) {
      expect(await buffer((await store.read(`b/${n}`))!.stream), `b/${n}`).toEqual(contentFor(n));
    }
    const same = await buffer((await store.read('same'))!.stream);
    const version = Number(/^v(\d+):/.exec(same.toString('latin1', 0, 12))![1]);
    expect(version).toBeGreaterThanOrEqual(last);
    expect(same).toEqual(contentFor(version));
    const names = (await store.list('')).map((info) => info.name);
    expect(names.every((name) => name === 'same' || /^b\/\d+$/.test(name))).toBe(true);
  });
});

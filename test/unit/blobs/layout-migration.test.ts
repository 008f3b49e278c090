import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';
import { migrateLegacyBlobLayout } from '../../../src/blobs/directory/layout-migration.js';

describe('migrateLegacyBlobLayout', () => {
  let dir: string;
  let legacyRoot: string;
  let root: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gantry-layout-'));
    legacyRoot = path.join(dir, 'files');
    root = path.join(dir, 'blobs');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const put = (name: string, content: string): void => {
    const file = path.join(legacyRoot, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  };
  const migrate = (uploaded: string[] = []) =>
    migrateLegacyBlobLayout({ legacyRoot, root, blobs: new DirectoryBlobStore(root), isUpload: async (f) => uploaded.includes(f) });
  const read = (name: string): string => readFileSync(path.join(root, name), 'utf8');

  it('makes the old files the uploads namespace and moves the queue’s own values to the queue namespace', async () => {
    put('pantry/0/curry.txt', 'cumin');
    put('queue/dep_1/req-1/payload.json', '{"big":true}');
    put('queue/uploaded-by-a-user.txt', 'mine');
    expect(await migrate(['queue/uploaded-by-a-user.txt'])).toEqual({ movedUploads: true, movedQueueValues: 1 });
    expect(read('uploads/pantry/0/curry.txt')).toBe('cumin');
    expect(read('queue/dep_1/req-1/payload.json')).toBe('{"big":true}');
    expect(read('uploads/queue/uploaded-by-a-user.txt')).toBe('mine');
    expect(await new DirectoryBlobStore(root).stat('uploads/queue/dep_1/req-1/payload.json')).toBeUndefined();
    // Host paths recorded before the upgrade still lead to the files.
    expect(lstatSync(legacyRoot).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(legacyRoot, 'pantry/0/curry.txt'), 'utf8')).toBe('cumin');
  });

  it('does nothing the second time, and nothing without a legacy directory', async () => {
    put('a.txt', 'a');
    await migrate();
    expect(await migrate()).toEqual({ movedUploads: false, movedQueueValues: 0 });
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    expect(await migrate()).toEqual({ movedUploads: false, movedQueueValues: 0 });
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';
import { namespaced } from '../../../src/blobs/namespaces.js';
import { describeBlobStoreContract } from '../../contracts/blob-store.contract.js';

describeBlobStoreContract(
  'a namespace of a directory store',
  async () => namespaced(new DirectoryBlobStore(mkdtempSync(path.join(tmpdir(), 'gantry-ns-'))), 'uploads'),
);

describe('namespaced', () => {
  let dir: string;
  let root: DirectoryBlobStore;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gantry-ns-'));
    root = new DirectoryBlobStore(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every name of one namespace inside it, whatever the name says', async () => {
    const uploads = namespaced(root, 'uploads');
    const queue = namespaced(root, 'queue');
    await queue.write('dep_1/req/payload.json', Buffer.from('{"queue":true}'));
    // An upload named like the queue's blob, and one that would shadow the queue's directory with a file.
    await uploads.write('queue/dep_1/req/payload.json', Buffer.from('{"forged":true}'));
    await uploads.write('queue/dep_2', Buffer.from('blocker'));
    await queue.write('dep_2/req/payload.json', Buffer.from('{"still":"fine"}'));
    expect(await text((await queue.read('dep_1/req/payload.json'))!.stream)).toBe('{"queue":true}');
    expect((await root.list('')).map((b) => b.name)).toEqual([
      'queue/dep_1/req/payload.json',
      'queue/dep_2/req/payload.json',
      'uploads/queue/dep_1/req/payload.json',
      'uploads/queue/dep_2',
    ]);
  });

  it('names blobs and conflicts relative to the namespace', async () => {
    const uploads = namespaced(root, 'uploads');
    await uploads.write('a', Buffer.from('x'));
    expect(await uploads.list('')).toEqual([expect.objectContaining({ name: 'a' })]);
    await expect(uploads.write('a/b', Buffer.from('y'))).rejects.toMatchObject({ name: 'BlobNameConflictError', blobName: 'a/b' });
    await expect(uploads.write('../queue/x', Buffer.from('y'))).rejects.toMatchObject({ name: 'InvalidBlobNameError' });
  });
});

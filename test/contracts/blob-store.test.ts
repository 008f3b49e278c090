import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DirectoryBlobStore } from '../../src/blobs/directory/directory-blob-store.js';
import { describeBlobStoreContract } from './blob-store.contract.js';

describeBlobStoreContract(
  'directory',
  // A root that does not exist yet: the store creates it on first use.
  async () => new DirectoryBlobStore(path.join(mkdtempSync(path.join(tmpdir(), 'gantry-blobs-')), 'root')),
  async (store) => rmSync(path.dirname((store as DirectoryBlobStore).root), { recursive: true, force: true }),
);

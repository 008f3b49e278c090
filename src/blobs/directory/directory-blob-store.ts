import type { Readable } from 'node:stream';
import type { BlobInfo, BlobStore, BlobWriteOptions } from '../blob-store.js';

/** PLACEHOLDER: being written (a local directory, atomic durable writes). */
export class DirectoryBlobStore implements BlobStore {
  constructor(readonly root: string) {}
  write(_name: string, _source: Readable | Buffer, _options?: BlobWriteOptions): Promise<BlobInfo> {
    throw new Error('not yet written');
  }
  read(_name: string): Promise<{ info: BlobInfo; stream: Readable } | undefined> {
    throw new Error('not yet written');
  }
  stat(_name: string): Promise<BlobInfo | undefined> {
    throw new Error('not yet written');
  }
  delete(_name: string): Promise<boolean> {
    throw new Error('not yet written');
  }
  list(_prefix: string): Promise<BlobInfo[]> {
    throw new Error('not yet written');
  }
}

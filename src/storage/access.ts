import type { BlobStore } from '../blobs/blob-store.js';
import { appError } from '../shared/errors.js';
import { ownerOf, type Owner, type Requester, type StorageRecords } from './records.js';
import type { DigestedBlob } from './streams.js';
import { assertWorkerOutput, type JobLookup } from './worker-outputs.js';

/**
 * Who may write and read which file (compat.md §8.21). User keys may do anything. A worker token may
 * write only its own job's outputs (worker-outputs.ts), never a file another deployment or a user wrote,
 * and read only its own deployment's files. `blobs` is the uploads namespace.
 */
export class FileAccess {
  constructor(
    private readonly records: StorageRecords,
    private readonly blobs: Pick<BlobStore, 'stat'>,
    private readonly jobs: JobLookup,
  ) {}

  async assertMayWrite(filename: string, requester: Requester): Promise<void> {
    if (requester.kind === 'user') return;
    await assertWorkerOutput(filename, requester, this.jobs);
    const owner = await this.currentOwner(filename);
    if (owner && !isOwnedBy(owner, requester)) {
      throw appError(
        'GANTRY_ERR_STORAGE_OWNED_ELSEWHERE',
        `file "${filename}" was written by ${owner.kind === 'user' ? 'a user' : 'another deployment'}; ` +
          'a worker token may only write new names or files of its own deployment',
        { param: 'filename' },
      );
    }
  }

  /** `requester` is undefined for a signed URL: the signature already grants the read. */
  async assertMayRead(filename: string, requester: Requester | undefined): Promise<void> {
    if (requester === undefined || requester.kind === 'user') return;
    const owner = await this.currentOwner(filename);
    if (!owner) throw notFound(filename);
    if (!isOwnedBy(owner, requester)) {
      throw appError('GANTRY_ERR_STORAGE_OWNED_ELSEWHERE', `file "${filename}" belongs to another deployment`);
    }
  }

  /** Records `requester`'s side as the owner of the content just written. */
  async recordWrite(filename: string, requester: Requester, file: DigestedBlob, writtenAt: string): Promise<void> {
    const { size } = file.info;
    await this.records.putFile(filename, { owner: ownerOf(requester), size, etag: file.etag, written_at: writtenAt });
  }

  /**
   * The owner of the file's current content, or undefined when there is no such file. A file without a
   * record (written by another part of Gantry, such as volumes) belongs to the users.
   */
  private async currentOwner(filename: string): Promise<Owner | undefined> {
    const record = await this.records.getFile(filename);
    if (record) return record.owner;
    return (await this.blobs.stat(filename)) ? { kind: 'user' } : undefined;
  }
}

function isOwnedBy(owner: Owner, requester: Requester): boolean {
  return owner.kind === 'deployment' && requester.kind === 'worker' && owner.deployment_id === requester.deployment_id;
}

export function notFound(filename: string): Error {
  return appError('GANTRY_ERR_STORAGE_NOT_FOUND', `no file named "${filename}"`);
}

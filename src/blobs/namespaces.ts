import type { Readable } from 'node:stream';
import { assertSafeBlobName, BlobNameConflictError, isBlobNameConflictError } from './blob-name.js';
import type { BlobInfo, BlobStore, BlobWriteOptions } from './blob-store.js';

/**
 * One BlobStore holds every kind of blob, each kind under its own top-level namespace:
 *
 * - `uploads/<filename>`: files uploaded through the Storage API. Every API filename is mapped here, so
 *   no upload, whatever its name, can reach the other namespaces;
 * - `queue/<deployment id>/<request id>/<payload|outputs>.json`: queue values over 64 KiB;
 * - `volumes/<volume id>/<version>/<seal>/<path>`: the frozen files of a volume version (see volumes/).
 *
 * Each part of Gantry is handed the namespace it owns (`namespaced(store, 'uploads')`) and names blobs
 * relative to it.
 */
export type BlobNamespace = 'uploads' | 'queue' | 'volumes';

export const BLOB_NAMESPACES: readonly BlobNamespace[] = ['uploads', 'queue', 'volumes'];

/** The name of `name` of namespace `namespace` in the whole store. */
export function qualifiedName(namespace: BlobNamespace, name: string): string {
  return `${namespace}/${name}`;
}

/** The part of `store` under `namespace`, as a BlobStore of its own. */
export function namespaced(store: BlobStore, namespace: BlobNamespace): BlobStore {
  return new NamespacedBlobStore(store, namespace);
}

class NamespacedBlobStore implements BlobStore {
  private readonly prefix: string;

  constructor(
    private readonly inner: BlobStore,
    namespace: BlobNamespace,
  ) {
    this.prefix = `${namespace}/`;
  }

  async write(name: string, source: Readable | Buffer, options?: BlobWriteOptions): Promise<BlobInfo> {
    return this.local(await this.conflictsAsOwn(name, () => this.inner.write(this.qualify(name), source, options)));
  }

  async read(name: string): Promise<{ info: BlobInfo; stream: Readable } | undefined> {
    const found = await this.inner.read(this.qualify(name));
    return found && { info: this.local(found.info), stream: found.stream };
  }

  async stat(name: string): Promise<BlobInfo | undefined> {
    const info = await this.inner.stat(this.qualify(name));
    return info && this.local(info);
  }

  async delete(name: string): Promise<boolean> {
    return this.inner.delete(this.qualify(name));
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    return (await this.inner.list(this.prefix + prefix)).map((info) => this.local(info));
  }

  async copy(from: string, to: string): Promise<BlobInfo | undefined> {
    const info = await this.conflictsAsOwn(to, () => this.inner.copy(this.qualify(from), this.qualify(to)));
    return info && this.local(info);
  }

  /** Checked before qualifying, so a refusal names the blob as its caller knows it. */
  private qualify(name: string): string {
    assertSafeBlobName(name);
    return this.prefix + name;
  }

  private local(info: BlobInfo): BlobInfo {
    return { ...info, name: info.name.slice(this.prefix.length) };
  }

  private async conflictsAsOwn<T>(name: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      throw isBlobNameConflictError(err) ? new BlobNameConflictError(name) : err;
    }
  }
}

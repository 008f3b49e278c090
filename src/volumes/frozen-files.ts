import type { BlobInfo, BlobStore } from '../blobs/blob-store.js';
import { qualifiedName } from '../blobs/namespaces.js';

/**
 * A volume version's files, frozen. Until a deployment first mounts a version, its files are whatever is
 * uploaded under `uploads/<source_prefix>/` (the vendor CLI creates a volume, then uploads its files). On
 * the first mount they are copied (hard links on a local directory) to
 * `volumes/<volume id>/<version>/<seal>/`, a namespace no upload can name, and every mount of that
 * version uses the copy from then on: nothing uploaded later changes what a deployment mounted.
 */

export type FrozenFileStore = Pick<BlobStore, 'list' | 'copy' | 'delete'>;

/** The prefix (namespace-qualified, no trailing `/`) of a frozen version's files. */
export function frozenPrefix(volumeId: string, version: number, seal: string): string {
  return qualifiedName('volumes', `${volumeId}/${version}/${seal}`);
}

/** The prefix (namespace-qualified, no trailing `/`) a version's files are read from before it is frozen. */
export function uploadedPrefix(sourcePrefix: string): string {
  return qualifiedName('uploads', sourcePrefix.replace(/\/+$/, ''));
}

/** Copies every blob under `from/` to the same relative name under `to/`. */
export async function copyTree(blobs: FrozenFileStore, from: string, to: string): Promise<void> {
  for (const blob of await blobs.list(`${from}/`)) {
    await blobs.copy(blob.name, `${to}/${blob.name.slice(from.length + 1)}`);
  }
}

/** Deletes every blob under `prefix/`. */
export async function deleteTree(blobs: FrozenFileStore, prefix: string): Promise<void> {
  for (const blob of await blobs.list(`${prefix}/`)) await blobs.delete(blob.name);
}

/** The blobs under `prefix/`, named relative to it. */
export async function filesUnder(blobs: FrozenFileStore, prefix: string): Promise<BlobInfo[]> {
  return (await blobs.list(`${prefix}/`)).map((blob) => ({ ...blob, name: blob.name.slice(prefix.length + 1) }));
}

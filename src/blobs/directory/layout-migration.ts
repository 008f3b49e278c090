import { existsSync, lstatSync } from 'node:fs';
import { mkdir, rename, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { BlobStore } from '../blob-store.js';
import { qualifiedName } from '../namespaces.js';

/**
 * Before namespaces (blobs/namespaces.ts), blobs lived in `<data dir>/files/`: API uploads at its top,
 * queue values under `queue/`. This moves such a directory into the namespaced layout once, at start:
 *
 * 1. `files/` becomes `blobs/uploads/` in one rename, so every uploaded file keeps its API name, and
 *    `files` is left as a symlink to it, so a replica started before the upgrade (its volume's host path
 *    under `files/`) can still be restarted;
 * 2. the queue values Gantry wrote itself, the files under `uploads/queue/` that no API upload recorded,
 *    move to the `queue` namespace, where the job records' refs (`queue/<deployment>/<request>/…`) name
 *    them. Files uploaded through the API under such names stay uploads.
 *
 * Each step is a rename and may run again after a crash; several control-plane replicas sharing the
 * directory may run it at once (the loser of a rename finds the file gone and moves on).
 */
export interface LegacyBlobLayout {
  /** The old root, `<data dir>/files`. */
  legacyRoot: string;
  /** The namespaced root, `<data dir>/blobs`. */
  root: string;
  /** The whole store at `root`. */
  blobs: BlobStore;
  /** Whether an API upload recorded `filename` (StorageRecords.getFile). */
  isUpload: (filename: string) => Promise<boolean>;
}

export interface MigrationReport {
  movedUploads: boolean;
  movedQueueValues: number;
}

const LEGACY_QUEUE = 'queue/';

export async function migrateLegacyBlobLayout(layout: LegacyBlobLayout): Promise<MigrationReport> {
  const movedUploads = await moveLegacyRoot(layout.legacyRoot, layout.root);
  let movedQueueValues = 0;
  for (const blob of await layout.blobs.list(qualifiedName('uploads', LEGACY_QUEUE))) {
    const filename = blob.name.slice('uploads/'.length);
    if (await layout.isUpload(filename)) continue;
    if (await moveBlob(layout.blobs, blob.name, filename)) movedQueueValues++;
  }
  return { movedUploads, movedQueueValues };
}

async function moveLegacyRoot(legacyRoot: string, root: string): Promise<boolean> {
  const uploads = path.join(root, 'uploads');
  if (!isRealDirectory(legacyRoot) || existsSync(uploads)) return false;
  await mkdir(root, { recursive: true, mode: 0o700 });
  try {
    await rename(legacyRoot, uploads);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  await symlink(path.relative(path.dirname(legacyRoot), uploads), legacyRoot).catch(() => undefined);
  return true;
}

/** Copy (a hard link) then delete: a crash in between leaves the value where a rerun finds it again. */
async function moveBlob(blobs: BlobStore, from: string, to: string): Promise<boolean> {
  if (!(await blobs.copy(from, to))) return false;
  await blobs.delete(from);
  return true;
}

/** A directory, not the symlink a finished migration leaves. */
function isRealDirectory(dir: string): boolean {
  try {
    return lstatSync(dir).isDirectory();
  } catch {
    return false;
  }
}

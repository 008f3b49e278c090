import type { VolumeMountSpec } from '../scheduler.js';
import type { VolumeFiles } from './nomad-scheduler.js';
import type { VolumeFile } from './task.js';

/** What listing and signing a volume's files needs (VolumeService, BlobStore, StorageService). */
export interface VolumeFileSources {
  /** The storage prefix holding a volume version's files (`pantry/2`). */
  sourcePrefix(name: string, version: number): Promise<string>;
  /** Storage file names under a prefix. */
  list(prefix: string): Promise<string[]>;
  /** A signed download URL of a storage file, from the control plane's public URL. */
  sign(filename: string): Promise<string>;
}

/**
 * A volume version's files with signed download URLs, for the job's `artifact` blocks. The URLs expire
 * (GANTRY_SIGNED_URL_TTL_SECONDS): an allocation placed after that cannot preload, so a redeploy re-signs.
 */
export function storageVolumeFiles(sources: VolumeFileSources): VolumeFiles {
  return {
    filesOf: async (volume: VolumeMountSpec): Promise<VolumeFile[]> => {
      const prefix = `${(await sources.sourcePrefix(volume.name, volume.version)).replace(/\/+$/, '')}/`;
      const names = await sources.list(prefix);
      return Promise.all(names.map(async (name) => ({ path: name.slice(prefix.length), url: await sources.sign(name) })));
    },
  };
}

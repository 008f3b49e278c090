import type { VolumeMountSpec } from '../scheduler.js';
import type { VolumeFiles } from './nomad-scheduler.js';
import type { VolumeFile } from './task.js';

/** One file of a volume version that one deployment's jobs may download. */
export interface VolumeFileRef {
  volumeId: string;
  version: number;
  deploymentId: string;
  /** The storage name of the file (`pantry/2/curry.txt`). */
  filename: string;
}

/** What listing a volume's files and making their download URLs needs (VolumeService, BlobStore, VolumeFileUrls). */
export interface VolumeFileSources {
  /** The volume's id and the storage prefix holding one of its versions' files (`pantry/2`). */
  resolve(name: string, version: number): Promise<{ volumeId: string; sourcePrefix: string }>;
  /** Storage file names under a prefix. */
  list(prefix: string): Promise<string[]>;
  /** The download URL of one file, from the control plane's public URL. */
  url(file: VolumeFileRef): string;
}

/**
 * A volume version's files with download URLs, for the job's `artifact` blocks. The URLs do not expire:
 * Nomad places and reschedules allocations at any time, long after the job was registered. They stay
 * valid while the deployment exists and the volume has the version (`volumes/volume-file-urls.ts`).
 */
export function storageVolumeFiles(sources: VolumeFileSources): VolumeFiles {
  return {
    filesOf: async (volume: VolumeMountSpec, deploymentId: string): Promise<VolumeFile[]> => {
      const { volumeId, sourcePrefix } = await sources.resolve(volume.name, volume.version);
      const prefix = `${sourcePrefix.replace(/\/+$/, '')}/`;
      const names = await sources.list(prefix);
      return names.map((filename) => ({
        path: filename.slice(prefix.length),
        url: sources.url({ volumeId, version: volume.version, deploymentId, filename }),
      }));
    },
  };
}

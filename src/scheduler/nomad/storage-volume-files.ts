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
  /**
   * The volume's id, the storage prefix its version's files were uploaded under (`pantry/2`) and the
   * blob prefix of the version's frozen copy, which is what allocations get.
   */
  resolve(name: string, version: number): Promise<{ volumeId: string; sourcePrefix: string; filesPrefix: string }>;
  /** Blob names under a prefix of the blob root. */
  list(prefix: string): Promise<string[]>;
  /** The download URL of one file, from the control plane's public URL. */
  url(file: VolumeFileRef): string;
}

/**
 * A volume version's files (its frozen copy, made at its first mount) with download URLs, for the job's
 * `artifact` blocks; the URLs name the files as they were uploaded and serve the frozen copy. The URLs do not expire:
 * Nomad places and reschedules allocations at any time, long after the job was registered. They stay
 * valid while the deployment exists and the volume has the version (`volumes/volume-file-urls.ts`).
 */
export function storageVolumeFiles(sources: VolumeFileSources): VolumeFiles {
  return {
    filesOf: async (volume: VolumeMountSpec, deploymentId: string): Promise<VolumeFile[]> => {
      const { volumeId, sourcePrefix, filesPrefix } = await sources.resolve(volume.name, volume.version);
      const frozen = `${filesPrefix.replace(/\/+$/, '')}/`;
      const paths = (await sources.list(frozen)).map((name) => name.slice(frozen.length));
      const named = `${sourcePrefix.replace(/\/+$/, '')}/`;
      return paths.map((path) => ({
        path,
        url: sources.url({ volumeId, version: volume.version, deploymentId, filename: named + path }),
      }));
    },
  };
}

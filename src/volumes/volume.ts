/**
 * Volumes (compat.md §5.3, compat-source.md §C.4): read-only, versioned sets of files that replicas see at a
 * mount path.
 *
 * Terminology:
 * - **volume**: a named record (`vol_…`); its name is unique and can change, its id cannot.
 * - **version**: a number (0, 1, 2 …) naming one `source_prefix`. Create makes version 0 (the vendor CLI
 *   uploads its first content to `<name>/0`); each PATCH with new content adds `current_version + 1`.
 *   Versions are never removed.
 * - **source prefix**: a storage filename prefix; until a deployment first mounts the version, its files
 *   are the uploads under `<source_prefix>/`, listed live (the vendor CLI creates, then uploads). The
 *   first mount freezes them (frozen-files.ts): the version never changes after that.
 * - **mount**: a deployment using a version of a volume. The deployments service records its mounts here
 *   (`setMounts`), so a volume knows who uses it (`mounted_by`) and refuses deletion while used.
 */

export const VOLUME_TYPE = 'readOnly';
export const CONTENT_TYPE = 'files';
export type VolumeType = typeof VOLUME_TYPE;

/** What a version holds, as the API takes it and as `version_history` shows it. */
export interface VolumeContentSpec {
  type: typeof CONTENT_TYPE;
  source_prefix: string;
}

/** One file of a version; `name` is relative to the source prefix (`curry.txt`, not `pantry/0/curry.txt`). */
export interface VolumeFile {
  name: string;
  size: number;
  last_modified: string;
}

export interface VolumeVersion {
  version: number;
  content: VolumeContentSpec;
  /** Deployment ids mounting this version. */
  mounted_by: string[];
}

/** A volume as the API returns it. */
export interface Volume {
  id: string;
  object: 'volume';
  name: string;
  type: VolumeType;
  content: VolumeContentSpec & { files: VolumeFile[] };
  current_version: number;
  /** Every version, keyed by its number as a string (JSON object keys). */
  version_history: Record<string, VolumeVersion>;
  /** Deployment ids mounting the version shown in `content`. */
  mounted_by: string[];
  created_at: string;
  updated_at: string;
}

export interface VolumeInput {
  name: string;
  content: VolumeContentSpec;
}

export interface VolumePatch {
  name?: string;
  content?: VolumeContentSpec;
}

/** A mount request resolved against the volume's current record (see `VolumeService.resolveMount`). */
export interface ResolvedMount {
  volumeId: string;
  name: string;
  version: number;
  sourcePrefix: string;
  /** The BlobStore prefix (namespace-qualified) of the version's frozen files. */
  filesPrefix: string;
  /** The directory on the server's machine that holds the version's files. */
  hostPath: string;
}

/** One volume version a deployment uses. */
export interface VolumeMountRef {
  volumeId: string;
  version: number;
}

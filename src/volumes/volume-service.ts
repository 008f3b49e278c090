import { isoTime, type Clock } from '../shared/clock.js';
import { appError } from '../shared/errors.js';
import { newId, prefixedId } from '../shared/ids.js';
import { copyTree, deleteTree, filesUnder, frozenPrefix, uploadedPrefix, type FrozenFileStore } from './frozen-files.js';
import { RACE, retryOnRace } from '../state/named-records.js';
import type { StateStore } from '../state/state-store.js';
import {
  VOLUME_TYPE,
  type ResolvedMount,
  type Volume,
  type VolumeContentSpec,
  type VolumeFile,
  type VolumeInput,
  type VolumeMountRef,
  type VolumePatch,
  type VolumeVersion,
} from './volume.js';
import {
  groupMounts,
  VolumeRecords,
  type FoundVolume,
  type MountEntry,
  type StoredVersion,
  type StoredVolume,
} from './volume-records.js';

export interface VolumeServiceDeps {
  state: StateStore;
  /**
   * The whole BlobStore (every namespace): a version's files are listed under `uploads/<source_prefix>/`
   * until they are frozen into `volumes/` (frozen-files.ts).
   */
  blobs: FrozenFileStore;
  /** The directory on the server's machine holding the blobs under `<prefix>/` (DirectoryBlobStore.localPath). */
  localPathOf: (prefix: string) => string;
  clock: Clock;
}

/**
 * Most distinct volumes one deployment may mount. It keeps a mount change inside one transaction
 * (MAX_TXN_OPS = 128): two operations per mounted volume plus one per volume no longer mounted.
 */
export const MAX_VOLUMES_PER_DEPLOYMENT = 32;

/**
 * Volumes (compat.md §5.3) and the record of which deployment mounts which version. Input arrives parsed
 * (names and source prefixes were checked at the edge); lookups take an id or a name.
 */
export class VolumeService {
  private readonly records: VolumeRecords;

  constructor(private readonly deps: VolumeServiceDeps) {
    this.records = new VolumeRecords(deps.state);
  }

  /** Version 0 holds `input.content`. Fails with GANTRY_ERR_VOLUME_EXISTS ("already exists") on a taken name. */
  async create(input: VolumeInput): Promise<Volume> {
    const now = isoTime(this.deps.clock.now());
    const stored: StoredVolume = {
      id: prefixedId('vol'),
      name: input.name,
      type: VOLUME_TYPE,
      current_version: 0,
      versions: { '0': { version: 0, content: input.content } },
      created_at: now,
      updated_at: now,
    };
    await this.records.insert(stored);
    return this.view(stored, []);
  }

  /** Every volume at its current version, in creation order. */
  async list(): Promise<Volume[]> {
    const [all, mounts] = await Promise.all([this.records.all(), this.records.mounts()]);
    return Promise.all(all.map((stored) => this.view(stored, mounts.filter((m) => m.volumeId === stored.id))));
  }

  /**
   * The volume as of `version` (default: the current one): `content` and `mounted_by` are that version's,
   * everything else (`current_version`, `version_history`) is the volume's as it is now.
   */
  async get(idOrName: string, version?: number): Promise<Volume> {
    const { stored } = await this.mustFind(idOrName);
    if (version !== undefined && !stored.versions[version]) {
      throw appError('GANTRY_ERR_VOLUME_NOT_FOUND', noSuchVersion(stored, version), { param: 'version' });
    }
    return this.view(stored, await this.records.mounts(stored.id), version);
  }

  /**
   * Renames and/or adds a version. New content becomes version `current_version + 1`, unless it equals the
   * current version's content: then nothing is added, so a retried PATCH cannot skip a version number (the
   * vendor CLI uploads to `<name>/<current_version + 1>` and expects that to become the version).
   */
  async update(idOrName: string, patch: VolumePatch): Promise<Volume> {
    const stored = await retryOnRace(`updating volume "${idOrName}"`, 'volume', async () => {
      const found = await this.mustFind(idOrName);
      const next = this.patched(found.stored, patch);
      if (next === found.stored) return next;
      return (await this.records.replace(found, next)) ? next : RACE;
    });
    return this.view(stored, await this.records.mounts(stored.id));
  }

  /**
   * Deletes the volume's records and its frozen copies; refused (GANTRY_ERR_VOLUME_IN_USE) while any
   * deployment mounts any of its versions. The uploaded files stay in storage, as with the hosted product
   * (the vendor CLI does not delete them either): they are ordinary files, and a new volume may point at
   * them again.
   */
  async delete(idOrName: string): Promise<void> {
    const removed = await retryOnRace(`deleting volume "${idOrName}"`, 'volume', async () => {
      const found = await this.mustFind(idOrName);
      const mounts = await this.records.mounts(found.stored.id);
      if (mounts.length > 0) throw inUse(found.stored.name, mounts);
      return (await this.records.remove(found)) ? found.stored : RACE;
    });
    for (const entry of Object.values(removed.versions)) {
      if (entry.seal) await deleteTree(this.deps.blobs, frozenPrefix(removed.id, entry.version, entry.seal));
    }
  }

  /**
   * What a deployment's mount of `nameOrId` means now: `version` as given (literal, 0 included), or the
   * current version when omitted (compat.md §8.13). The version's files are frozen on its first mount.
   */
  async resolveMount(nameOrId: string, version: number | undefined): Promise<ResolvedMount> {
    const found = await this.mustFind(nameOrId);
    const { stored } = found;
    const chosen = version ?? stored.current_version;
    const entry = stored.versions[chosen];
    if (!entry) throw appError('GANTRY_ERR_VOLUME_VERSION_NOT_FOUND', noSuchVersion(stored, chosen));
    const seal = entry.seal ?? (await this.freeze(found, entry));
    const filesPrefix = frozenPrefix(stored.id, chosen, seal);
    const sourcePrefix = entry.content.source_prefix;
    return { volumeId: stored.id, name: stored.name, version: chosen, sourcePrefix, filesPrefix, hostPath: this.deps.localPathOf(filesPrefix) };
  }

  /**
   * Makes `mounts` the deployment's complete set of mounts, in one transaction. `volumeId` is the id
   * (`resolveMount().volumeId`, not a name); every volume and version must exist (the same errors as
   * `resolveMount`), so a volume deleted since it was resolved fails here.
   */
  async setMounts(deploymentId: string, mounts: VolumeMountRef[]): Promise<void> {
    const wanted = groupMounts(deploymentId, mounts);
    if (wanted.length > MAX_VOLUMES_PER_DEPLOYMENT) {
      const message = `a deployment may mount at most ${MAX_VOLUMES_PER_DEPLOYMENT} volumes; got ${wanted.length}`;
      throw appError('GANTRY_ERR_REQUEST_INVALID', message, { param: 'volumes' });
    }
    await retryOnRace(`recording the volume mounts of deployment "${deploymentId}"`, 'volume', async () => {
      const touched = await Promise.all(wanted.map((mount) => this.mountable(mount)));
      const current = await this.records.mountsOfDeployment(deploymentId);
      return (await this.records.replaceMounts(deploymentId, current, wanted, touched)) ? true : RACE;
    });
  }

  /** Forgets every mount of the deployment (it was destroyed). */
  async clearMounts(deploymentId: string): Promise<void> {
    await this.setMounts(deploymentId, []);
  }

  /**
   * Copies the version's uploaded files into a fresh seal and records it. Two first mounts at once each
   * copy; the one that records first wins and the other drops its copy.
   */
  private async freeze(found: FoundVolume, entry: StoredVersion): Promise<string> {
    const { id } = found.stored;
    const seal = newId();
    await copyTree(this.deps.blobs, uploadedPrefix(entry.content.source_prefix), frozenPrefix(id, entry.version, seal));
    return retryOnRace(`freezing version ${entry.version} of volume "${found.stored.name}"`, 'volume', async () => {
      const current = await this.mustFind(id);
      const recorded = current.stored.versions[entry.version]?.seal;
      if (recorded !== undefined) {
        await deleteTree(this.deps.blobs, frozenPrefix(id, entry.version, seal));
        return recorded;
      }
      return (await this.records.replace(current, withSeal(current.stored, entry.version, seal))) ? seal : RACE;
    });
  }

  private async mustFind(idOrName: string): Promise<FoundVolume> {
    const found = await this.records.find(idOrName);
    if (!found) throw appError('GANTRY_ERR_VOLUME_NOT_FOUND', `no volume with id or name "${idOrName}"`);
    return found;
  }

  /** The volume a mount names (by id), read for the mount transaction's cas; checks that its versions exist. */
  private async mountable(mount: MountEntry): Promise<FoundVolume> {
    const found = await this.records.find(mount.volumeId);
    // Mount keys are built from the id, so a name here (which `find` would also accept) is refused.
    if (found?.stored.id !== mount.volumeId) {
      throw appError('GANTRY_ERR_VOLUME_NOT_FOUND', `no volume with id "${mount.volumeId}" (it may have been deleted)`);
    }
    const missing = mount.versions.find((version) => !found.stored.versions[version]);
    if (missing !== undefined) throw appError('GANTRY_ERR_VOLUME_VERSION_NOT_FOUND', noSuchVersion(found.stored, missing));
    return found;
  }

  /** `current` itself when the patch changes nothing (no write, `updated_at` kept). */
  private patched(current: StoredVolume, patch: VolumePatch): StoredVolume {
    const name = patch.name ?? current.name;
    const content = patch.content && isNewContent(current, patch.content) ? patch.content : undefined;
    if (name === current.name && content === undefined) return current;
    const next = { ...current, name, updated_at: isoTime(this.deps.clock.now()) };
    return content ? withVersion(next, content) : next;
  }

  private async view(stored: StoredVolume, mounts: MountEntry[], version = stored.current_version): Promise<Volume> {
    const entry = stored.versions[version]!;
    const { content } = entry;
    return {
      id: stored.id,
      object: 'volume',
      name: stored.name,
      type: stored.type,
      content: { ...content, files: await this.filesOf(stored.id, entry) },
      current_version: stored.current_version,
      version_history: historyOf(stored, mounts),
      mounted_by: mountedBy(mounts, version),
      created_at: stored.created_at,
      updated_at: stored.updated_at,
    };
  }

  /** The version's files, frozen or still uploaded: what the mount shows at its top (compat.md §8.12). */
  private async filesOf(volumeId: string, entry: StoredVersion): Promise<VolumeFile[]> {
    const prefix = entry.seal ? frozenPrefix(volumeId, entry.version, entry.seal) : uploadedPrefix(entry.content.source_prefix);
    const blobs = await filesUnder(this.deps.blobs, prefix);
    return blobs.map((blob) => ({ name: blob.name, size: blob.size, last_modified: blob.lastModified }));
  }
}

function isNewContent(stored: StoredVolume, content: VolumeContentSpec): boolean {
  const current = stored.versions[stored.current_version]!.content;
  return current.type !== content.type || current.source_prefix !== content.source_prefix;
}

/** Versions only grow, so the current one is the highest and `current + 1` is always free. */
function withVersion(stored: StoredVolume, content: VolumeContentSpec): StoredVolume {
  const version = stored.current_version + 1;
  return { ...stored, current_version: version, versions: { ...stored.versions, [version]: { version, content } } };
}

function withSeal(stored: StoredVolume, version: number, seal: string): StoredVolume {
  const entry = stored.versions[version]!;
  return { ...stored, versions: { ...stored.versions, [version]: { ...entry, seal } } };
}

function historyOf(stored: StoredVolume, mounts: MountEntry[]): Record<string, VolumeVersion> {
  const entries = Object.values(stored.versions).map(({ version, content }) => [
    String(version),
    { version, content: { ...content }, mounted_by: mountedBy(mounts, version) },
  ]);
  return Object.fromEntries(entries) as Record<string, VolumeVersion>;
}

function mountedBy(mounts: MountEntry[], version: number): string[] {
  return mounts.filter((mount) => mount.versions.includes(version)).map((mount) => mount.deploymentId).sort();
}

function versionsOf(stored: StoredVolume): string {
  return Object.keys(stored.versions).join(', ');
}

function noSuchVersion(stored: StoredVolume, version: number): string {
  return `volume "${stored.name}" has no version ${version} (versions: ${versionsOf(stored)})`;
}

function inUse(name: string, mounts: MountEntry[]) {
  const users = [...new Set(mounts.map((mount) => mount.deploymentId))].sort().join(', ');
  return appError('GANTRY_ERR_VOLUME_IN_USE', `volume "${name}" is mounted by deployments ${users}; remove the mounts first`);
}

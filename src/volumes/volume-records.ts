import { appError } from '../shared/errors.js';
import { failedOpAt, findNamed, RecordLayout, type Found } from '../state/named-records.js';
import type { KvEntry, StateStore, TxnOp } from '../state/state-store.js';
import type { VolumeContentSpec, VolumeMountRef, VolumeType } from './volume.js';

/**
 * Volume records in the StateStore. Layout:
 * - `volumes/by-id/<id>`: the record (`StoredVolume`);
 * - `volumes/by-name/<encoded name>`: the id, percent-encoded (`encodeName` in `state/named-records.ts`)
 *   so any string a caller passes stays one flat key segment;
 * - `volumes/mounts/<volume id>/<encoded deployment id>`: `{"versions":[…]}`, the versions of that volume
 *   the deployment mounts (a list: one deployment may mount two versions at two paths).
 *
 * Invariants: a record and its name entry are written and removed in one transaction, the name entry
 * guarded by `check-not-exists`. Every mount write also rewrites (cas) the record of each volume it mounts,
 * so a delete that checked "no mounts" and then deletes with delete-cas fails if a mount slipped in
 * between.
 */

/** Ids are what `prefixedId('vol')` produces; only strings of that shape are tried as ids. */
const LAYOUT = new RecordLayout('volumes', /^vol_[0-9a-f]{32}$/);
const MOUNTS = 'volumes/mounts/';

export interface StoredVersion {
  version: number;
  content: VolumeContentSpec;
  /** Set once the version's files are frozen (frozen-files.ts): where the copy lives. */
  seal?: string;
}

export interface StoredVolume {
  id: string;
  name: string;
  type: VolumeType;
  current_version: number;
  /** Keyed by the version number as a string. */
  versions: Record<string, StoredVersion>;
  created_at: string;
  updated_at: string;
}

/** A record as read, with the modifyIndex its next write must cas against. */
export type FoundVolume = Found<StoredVolume>;

export interface MountEntry {
  volumeId: string;
  deploymentId: string;
  versions: number[];
}

export class VolumeRecords {
  constructor(private readonly state: StateStore) {}

  async insert(stored: StoredVolume): Promise<void> {
    const result = await this.state.txn(LAYOUT.insertOps(stored));
    if (!result.ok) throw failedOpAt(result, 0) ? idCollision() : nameTaken(stored.name);
  }

  /** Ids win over names; a name only counts while its record still carries it. */
  async find(idOrName: string): Promise<FoundVolume | undefined> {
    return findNamed<StoredVolume>(this.state, LAYOUT, idOrName);
  }

  /** In creation order (ids are time-ordered). */
  async all(): Promise<StoredVolume[]> {
    const entries = await this.state.list(LAYOUT.byId);
    return entries.map((entry) => JSON.parse(entry.value) as StoredVolume);
  }

  /** Writes `next` over `found`; false when someone else wrote in between. Throws when a new name is taken. */
  async replace(found: FoundVolume, next: StoredVolume): Promise<boolean> {
    const result = await this.state.txn(LAYOUT.replaceOps(found, next));
    if (result.ok) return true;
    // The record cas comes first: if it failed, a fresh read decides; otherwise the name was taken.
    if (failedOpAt(result, 0)) return false;
    throw nameTaken(next.name);
  }

  /** Deletes the record and its name; false when it changed (or gained a mount) since it was read. */
  async remove(found: FoundVolume): Promise<boolean> {
    const result = await this.state.txn(LAYOUT.removeOps(found));
    return result.ok;
  }

  /** The mounts of one volume, or of every volume. */
  async mounts(volumeId?: string): Promise<MountEntry[]> {
    const entries = await this.state.list(volumeId === undefined ? MOUNTS : `${MOUNTS}${volumeId}/`);
    return entries.map(parseMount);
  }

  async mountsOfDeployment(deploymentId: string): Promise<MountEntry[]> {
    return (await this.mounts()).filter((mount) => mount.deploymentId === deploymentId);
  }

  /**
   * Makes `wanted` the deployment's mounts, removing the `current` ones not wanted. Each volume in
   * `touched` (those being mounted) is rewritten unchanged with cas: false when one changed since read.
   */
  async replaceMounts(deploymentId: string, current: MountEntry[], wanted: MountEntry[], touched: FoundVolume[]): Promise<boolean> {
    const keep = new Set(wanted.map((mount) => mount.volumeId));
    const ops: TxnOp[] = [
      ...touched.map(({ stored, index }): TxnOp => ({ verb: 'cas', key: LAYOUT.idKey(stored.id), value: JSON.stringify(stored), index })),
      ...current.filter((mount) => !keep.has(mount.volumeId)).map((mount): TxnOp => ({ verb: 'delete', key: mountKey(mount) })),
      ...wanted.map((mount): TxnOp => ({ verb: 'set', key: mountKey(mount), value: JSON.stringify({ versions: mount.versions }) })),
    ];
    if (ops.length === 0) return true;
    return (await this.state.txn(ops)).ok;
  }
}

/** Groups mount requests by volume: one entry per volume, its versions sorted and unique. */
export function groupMounts(deploymentId: string, refs: VolumeMountRef[]): MountEntry[] {
  const byVolume = new Map<string, Set<number>>();
  for (const { volumeId, version } of refs) byVolume.set(volumeId, (byVolume.get(volumeId) ?? new Set()).add(version));
  return [...byVolume].map(([volumeId, versions]) => ({
    volumeId,
    deploymentId,
    versions: [...versions].sort((a, b) => a - b),
  }));
}

function mountKey(mount: Pick<MountEntry, 'volumeId' | 'deploymentId'>): string {
  return `${MOUNTS}${mount.volumeId}/${encodeURIComponent(mount.deploymentId)}`;
}

function parseMount(entry: KvEntry): MountEntry {
  const [volumeId = '', deployment = ''] = entry.key.slice(MOUNTS.length).split('/');
  const { versions } = JSON.parse(entry.value) as { versions: number[] };
  return { volumeId, deploymentId: decodeURIComponent(deployment), versions };
}

function nameTaken(name: string) {
  return appError('GANTRY_ERR_VOLUME_EXISTS', `a volume named "${name}" already exists`, { param: 'name' });
}

function idCollision() {
  return appError('GANTRY_ERR_STATE_CONFLICT', 'a volume with this id already exists; try again');
}

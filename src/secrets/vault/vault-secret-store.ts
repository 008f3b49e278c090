import { isoTime, type Clock } from '../../shared/clock.js';
import { prefixedId } from '../../shared/ids.js';
import { encodeSafeSegment } from '../../shared/safe-key.js';
import { failedOpAt, findNamed, RACE, RecordLayout, retryOnRace, type Found } from '../../state/named-records.js';
import type { StateStore } from '../../state/state-store.js';
import { secretIdCollision, secretNameTaken, secretNotFound } from '../secret-errors.js';
import type { SecretInput, SecretPatch, SecretRecord, SecretStore } from '../secret-store.js';
import type { VaultKv } from './vault-kv.js';

/**
 * The cluster SecretStore: values in Vault KV v2 at `<prefix>/secrets/<name>` (data `{"value": …}`), the
 * public fields (name, description, who and when) in the StateStore with the same id/name layout as every
 * named record. Values never reach the StateStore (Consul), a log line or a response.
 *
 * The StateStore decides: a name is claimed by its record's transaction (`check-not-exists`) before
 * anything is written to Vault, so concurrent creates and renames are settled there, exactly once. Vault
 * follows: create writes the value after the record (and removes the record again if Vault refuses);
 * rename writes the value under the new name, then removes the old path; delete removes the record, then
 * the Vault path. A crash between the two steps leaves either a record whose value reads as missing
 * (`reveal` → undefined) or an orphan Vault path that the next create of that name overwrites.
 *
 * Names become one path segment (`shared/safe-key.ts`: `team/key` → `team,2Fkey`), so names with `/`,
 * `..` or `//` stay distinct and never change the Vault path's shape.
 */

const LAYOUT = new RecordLayout('vault-secrets', /^sec_[0-9a-f]{32}$/);

export class VaultSecretStore implements SecretStore {
  constructor(
    private readonly state: StateStore,
    private readonly kv: VaultKv,
    private readonly clock: Clock,
    /** Path under the mount (default: gantry). */
    private readonly prefix = 'gantry',
  ) {
    if (!/^[A-Za-z0-9\-_]+(\/[A-Za-z0-9\-_]+)*$/.test(prefix)) throw new TypeError(`Vault path prefix "${prefix}" must be segments of A-Z a-z 0-9 - _`);
  }

  async create(input: SecretInput, actor: string): Promise<SecretRecord> {
    const record = this.newRecord(prefixedId('sec'), input, actor);
    const result = await this.state.txn(LAYOUT.insertOps(record));
    if (!result.ok) throw failedOpAt(result, 0) ? secretIdCollision() : secretNameTaken(record.name);
    try {
      await this.kv.write(this.pathOf(record.name), { value: input.value });
    } catch (err) {
      await this.state.txn(LAYOUT.removeOps({ stored: record, index: result.results[0]!.modifyIndex }));
      throw err;
    }
    return record;
  }

  async update(idOrName: string, patch: SecretPatch, actor: string): Promise<SecretRecord> {
    const { previous, next } = await retryOnRace(`updating secret "${idOrName}"`, 'secret', async () => {
      const found = await this.find(idOrName);
      if (!found) throw secretNotFound(idOrName);
      const next = this.patched(found.stored, patch, actor);
      const result = await this.state.txn(LAYOUT.replaceOps(found, next));
      if (result.ok) return { previous: found.stored, next };
      if (failedOpAt(result, 0)) return RACE;
      throw secretNameTaken(next.name);
    });
    await this.moveValue(previous.name, next.name, patch.value);
    return next;
  }

  async get(idOrName: string): Promise<SecretRecord | undefined> {
    return (await this.find(idOrName))?.stored;
  }

  /** In creation order (ids are time-ordered). */
  async list(): Promise<SecretRecord[]> {
    const entries = await this.state.list(LAYOUT.byId);
    return entries.map((entry) => toPublic(JSON.parse(entry.value) as SecretRecord));
  }

  async delete(idOrName: string): Promise<boolean> {
    const removed = await retryOnRace(`deleting secret "${idOrName}"`, 'secret', async () => {
      const found = await this.find(idOrName);
      if (!found) return undefined;
      return (await this.state.txn(LAYOUT.removeOps(found))).ok ? found.stored : RACE;
    });
    if (removed) await this.kv.remove(this.pathOf(removed.name));
    return removed !== undefined;
  }

  async reveal(idOrName: string): Promise<string | undefined> {
    const found = await this.find(idOrName);
    if (!found) return undefined;
    return (await this.kv.read(this.pathOf(found.stored.name)))?.data.value;
  }

  /** The Vault path (under the mount) of a secret's value. */
  pathOf(name: string): string {
    return `${this.prefix}/secrets/${encodeSafeSegment(name)}`;
  }

  private async moveValue(from: string, to: string, value: string | undefined): Promise<void> {
    if (from === to) {
      if (value !== undefined) await this.kv.write(this.pathOf(to), { value });
      return;
    }
    const moved = value ?? (await this.kv.read(this.pathOf(from)))?.data.value;
    if (moved !== undefined) await this.kv.write(this.pathOf(to), { value: moved });
    await this.kv.remove(this.pathOf(from));
  }

  private newRecord(id: string, input: SecretInput, actor: string): SecretRecord {
    const now = isoTime(this.clock.now());
    return toPublic({
      id,
      object: 'secret',
      name: input.name,
      description: input.description ?? '',
      created_at: now,
      updated_at: now,
      created_by: actor,
      last_updated_by: actor,
    });
  }

  private patched(current: SecretRecord, patch: SecretPatch, actor: string): SecretRecord {
    return toPublic({
      ...current,
      name: patch.name ?? current.name,
      description: patch.description ?? current.description,
      updated_at: isoTime(this.clock.now()),
      last_updated_by: actor,
    });
  }

  private async find(idOrName: string): Promise<Found<SecretRecord> | undefined> {
    const found = await findNamed<SecretRecord>(this.state, LAYOUT, idOrName);
    return found && { stored: toPublic(found.stored), index: found.index };
  }
}

/** Copies the public fields one by one, so nothing else ever rides along. */
function toPublic(r: SecretRecord): SecretRecord {
  return {
    id: r.id,
    object: 'secret',
    name: r.name,
    description: r.description,
    created_at: r.created_at,
    updated_at: r.updated_at,
    created_by: r.created_by,
    last_updated_by: r.last_updated_by,
  };
}

import { isoTime, type Clock } from '../../shared/clock.js';
import { appError } from '../../shared/errors.js';
import { prefixedId } from '../../shared/ids.js';
import { failedOpAt, findNamed, RACE, RecordLayout, retryOnRace, type Found } from '../../state/named-records.js';
import type { StateStore } from '../../state/state-store.js';
import { secretIdCollision, secretNameTaken, secretNotFound } from '../secret-errors.js';
import type { SecretInput, SecretPatch, SecretRecord, SecretStore } from '../secret-store.js';
import { assertEncryptionKey, seal, unseal, type SealedValue } from './seal.js';

/**
 * The embedded SecretStore: values sealed with AES-256-GCM (see `seal.ts`) inside the StateStore.
 *
 * Layout:
 * - `secrets/by-id/<id>`: the public fields plus `sealed` (the encrypted value, AAD = the id);
 * - `secrets/by-name/<encoded name>`: the id, percent-encoded (`encodeName` in `state/named-records.ts`).
 *
 * Invariant: a record and its name entry are written and removed in the same transaction, and the name
 * entry is guarded by `check-not-exists`, so two secrets can never hold one name.
 */

/** Ids are what `prefixedId('sec')` produces; only strings of that shape are tried as ids. */
const LAYOUT = new RecordLayout('secrets', /^sec_[0-9a-f]{32}$/);

interface StoredSecret extends SecretRecord {
  sealed: SealedValue;
}

export class LocalSecretStore implements SecretStore {
  constructor(
    private readonly state: StateStore,
    private readonly encryptionKey: Buffer,
    private readonly clock: Clock,
  ) {
    assertEncryptionKey(encryptionKey);
  }

  async create(input: SecretInput, actor: string): Promise<SecretRecord> {
    const stored = this.newRecord(prefixedId('sec'), input, actor);
    const result = await this.state.txn(LAYOUT.insertOps(stored));
    if (!result.ok) throw failedOpAt(result, 0) ? secretIdCollision() : secretNameTaken(stored.name);
    return toPublic(stored);
  }

  async update(idOrName: string, patch: SecretPatch, actor: string): Promise<SecretRecord> {
    return retryOnRace(`updating secret "${idOrName}"`, 'secret', async () => {
      const found = await this.find(idOrName);
      if (!found) throw secretNotFound(idOrName);
      const next = this.patched(found.stored, patch, actor);
      const result = await this.state.txn(LAYOUT.replaceOps(found, next));
      if (result.ok) return toPublic(next);
      // The record cas comes first: if it failed, someone else wrote in between and a fresh read decides.
      if (failedOpAt(result, 0)) return RACE;
      throw secretNameTaken(next.name);
    });
  }

  async get(idOrName: string): Promise<SecretRecord | undefined> {
    const found = await this.find(idOrName);
    return found && toPublic(found.stored);
  }

  /** In creation order (ids are time-ordered). */
  async list(): Promise<SecretRecord[]> {
    const entries = await this.state.list(LAYOUT.byId);
    return entries.map((entry) => toPublic(JSON.parse(entry.value) as StoredSecret));
  }

  async delete(idOrName: string): Promise<boolean> {
    return retryOnRace(`deleting secret "${idOrName}"`, 'secret', async () => {
      const found = await this.find(idOrName);
      if (!found) return false;
      const result = await this.state.txn(LAYOUT.removeOps(found));
      return result.ok ? true : RACE;
    });
  }

  async reveal(idOrName: string): Promise<string | undefined> {
    const found = await this.find(idOrName);
    if (!found) return undefined;
    const { id, name, sealed } = found.stored;
    try {
      return unseal(this.encryptionKey, sealed, id);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw appError('GANTRY_ERR_SECRET_UNREADABLE', `cannot decrypt secret "${name}" (${id}): ${why}`, { cause: err });
    }
  }

  private newRecord(id: string, input: SecretInput, actor: string): StoredSecret {
    const now = isoTime(this.clock.now());
    return {
      ...publicFields({ id, name: input.name, description: input.description ?? '' }),
      created_at: now,
      updated_at: now,
      created_by: actor,
      last_updated_by: actor,
      sealed: seal(this.encryptionKey, input.value, id),
    };
  }

  private patched(current: StoredSecret, patch: SecretPatch, actor: string): StoredSecret {
    return {
      ...current,
      name: patch.name ?? current.name,
      description: patch.description ?? current.description,
      updated_at: isoTime(this.clock.now()),
      last_updated_by: actor,
      // A new value always gets a fresh IV; an unchanged one keeps its ciphertext (still bound to the id).
      sealed: patch.value === undefined ? current.sealed : seal(this.encryptionKey, patch.value, current.id),
    };
  }

  /** Ids win over names; a name only counts while its record still carries it. */
  private async find(idOrName: string): Promise<Found<StoredSecret> | undefined> {
    return findNamed<StoredSecret>(this.state, LAYOUT, idOrName);
  }
}

function publicFields(fields: Pick<SecretRecord, 'id' | 'name' | 'description'>) {
  return { id: fields.id, object: 'secret' as const, name: fields.name, description: fields.description };
}

/** Copies the public fields one by one, so nothing else a record holds (the sealed value) can leak. */
function toPublic(stored: StoredSecret): SecretRecord {
  return {
    ...publicFields(stored),
    created_at: stored.created_at,
    updated_at: stored.updated_at,
    created_by: stored.created_by,
    last_updated_by: stored.last_updated_by,
  };
}

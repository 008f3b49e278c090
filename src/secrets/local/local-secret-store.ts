import { isoTime, type Clock } from '../../shared/clock.js';
import { appError } from '../../shared/errors.js';
import { prefixedId } from '../../shared/ids.js';
import type { StateStore, TxnOp, TxnResult } from '../../state/state-store.js';
import type { SecretInput, SecretPatch, SecretRecord, SecretStore } from '../secret-store.js';
import { assertEncryptionKey, seal, unseal, type SealedValue } from './seal.js';

/**
 * The embedded SecretStore: values sealed with AES-256-GCM (see `seal.ts`) inside the StateStore.
 *
 * Layout:
 * - `secrets/by-id/<id>`: the public fields plus `sealed` (the encrypted value, AAD = the id);
 * - `secrets/by-name/<encoded name>`: the id. Names may hold `/` and `.`, so they are percent-encoded
 *   (`/` → `%2F`, `.` → `%2E`): the key stays one flat segment, and no `..` or `//` ever reaches a KV
 *   HTTP path (Consul would clean or redirect those).
 *
 * Invariant: a record and its name entry are written and removed in the same transaction, and the name
 * entry is guarded by `check-not-exists`, so two secrets can never hold one name.
 */

const BY_ID = 'secrets/by-id/';
const BY_NAME = 'secrets/by-name/';
/** What `prefixedId('sec')` produces; only strings of this shape are tried as ids (never as KV paths). */
const ID_SHAPE = /^sec_[0-9a-f]{32}$/;
/** Rounds of read-modify-write before a contended update gives up; each lost round means another won. */
const MAX_ATTEMPTS = 8;

interface StoredSecret extends SecretRecord {
  sealed: SealedValue;
}

/** A record as read, with the modifyIndex its next write must cas against. */
interface Found {
  stored: StoredSecret;
  index: number;
}

/** Returned by one attempt of a read-modify-write that lost a race and should run again. */
const RACE = Symbol('race');

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
    const id = stored.id;
    const result = await this.state.txn([
      { verb: 'cas', key: idKey(id), value: JSON.stringify(stored), index: 0 },
      ...claimName(stored.name, id),
    ]);
    if (!result.ok) throw failedOpAt(result, 0) ? idCollision() : nameTaken(stored.name);
    return toPublic(stored);
  }

  async update(idOrName: string, patch: SecretPatch, actor: string): Promise<SecretRecord> {
    return retryOnRace(`updating secret "${idOrName}"`, async () => {
      const found = await this.find(idOrName);
      if (!found) throw notFound(idOrName);
      const next = this.patched(found.stored, patch, actor);
      const result = await this.state.txn(updateOps(found, next));
      if (result.ok) return toPublic(next);
      // The record cas comes first: if it failed, someone else wrote in between and a fresh read decides.
      if (failedOpAt(result, 0)) return RACE;
      throw nameTaken(next.name);
    });
  }

  async get(idOrName: string): Promise<SecretRecord | undefined> {
    const found = await this.find(idOrName);
    return found && toPublic(found.stored);
  }

  /** In creation order (ids are time-ordered). */
  async list(): Promise<SecretRecord[]> {
    const entries = await this.state.list(BY_ID);
    return entries.map((entry) => toPublic(JSON.parse(entry.value) as StoredSecret));
  }

  async delete(idOrName: string): Promise<boolean> {
    return retryOnRace(`deleting secret "${idOrName}"`, async () => {
      const found = await this.find(idOrName);
      if (!found) return false;
      const result = await this.state.txn([
        { verb: 'delete-cas', key: idKey(found.stored.id), index: found.index },
        // Safe without a check: the record cas proves it still holds this name, so the entry is ours.
        { verb: 'delete', key: nameKey(found.stored.name) },
      ]);
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
  private async find(idOrName: string): Promise<Found | undefined> {
    const byId = ID_SHAPE.test(idOrName) ? await this.read(idOrName) : undefined;
    return byId ?? (await this.findByName(idOrName));
  }

  private async findByName(name: string): Promise<Found | undefined> {
    const entry = await this.state.get(nameKey(name));
    if (!entry) return undefined;
    const found = await this.read(entry.value);
    // The two reads are not atomic: a rename in between leaves the record under another name.
    return found?.stored.name === name ? found : undefined;
  }

  private async read(id: string): Promise<Found | undefined> {
    const entry = await this.state.get(idKey(id));
    return entry && { stored: JSON.parse(entry.value) as StoredSecret, index: entry.modifyIndex };
  }
}

function idKey(id: string): string {
  return BY_ID + id;
}

function nameKey(name: string): string {
  return BY_NAME + encodeURIComponent(name).replaceAll('.', '%2E');
}

function claimName(name: string, id: string): TxnOp[] {
  return [
    { verb: 'check-not-exists', key: nameKey(name) },
    { verb: 'set', key: nameKey(name), value: id },
  ];
}

/** The record cas first (so a race is told apart from a taken name), then the rename, if any. */
function updateOps(found: Found, next: StoredSecret): TxnOp[] {
  const ops: TxnOp[] = [{ verb: 'cas', key: idKey(next.id), value: JSON.stringify(next), index: found.index }];
  if (next.name === found.stored.name) return ops;
  return [...ops, ...claimName(next.name, next.id), { verb: 'delete', key: nameKey(found.stored.name) }];
}

function failedOpAt(result: TxnResult, opIndex: number): boolean {
  return !result.ok && result.errors.some((e) => e.opIndex === opIndex);
}

/** Runs one read-modify-write attempt until it stops reporting a lost race, a bounded number of times. */
async function retryOnRace<T>(what: string, attempt: () => Promise<T | typeof RACE>): Promise<T> {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const outcome = await attempt();
    if (outcome !== RACE) return outcome;
  }
  throw appError('GANTRY_ERR_STATE_CONFLICT', `${what}: the secret kept changing concurrently; try again`);
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

function notFound(idOrName: string) {
  return appError('GANTRY_ERR_SECRET_NOT_FOUND', `no secret with id or name "${idOrName}"`);
}

function nameTaken(name: string) {
  return appError('GANTRY_ERR_SECRET_EXISTS', `a secret named "${name}" already exists`, { param: 'name' });
}

function idCollision() {
  return appError('GANTRY_ERR_STATE_CONFLICT', 'a secret with this id already exists; try again');
}

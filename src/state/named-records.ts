import { appError } from '../shared/errors.js';
import type { StateStore, TxnOp, TxnResult } from './state-store.js';

/**
 * Records kept by id with a unique-name index in the StateStore, the layout secrets, volumes and
 * deployments share:
 * - `<area>/by-id/<id>`: the record, as JSON;
 * - `<area>/by-name/<encoded name>`: the id.
 *
 * Invariant: a record and its name entry are written and removed in one transaction, and a name entry is
 * only ever created behind `check-not-exists`, so two records can never hold one name.
 */

/** What every named record carries. */
export interface Named {
  id: string;
  name: string;
}

/** A record as read, with the modifyIndex its next write must cas against. */
export interface Found<T> {
  stored: T;
  index: number;
}

/** Rounds of read-modify-write before a contended change gives up; each lost round means another won. */
const MAX_ATTEMPTS = 8;

/** Returned by one attempt of a read-modify-write that lost a race and should run again. */
export const RACE = Symbol('race');

/**
 * Names may hold `/` and `.`, so index keys hold them percent-encoded (`/` → `%2F`, `.` → `%2E`): the key
 * stays one flat segment, and no `..` or `//` ever reaches a KV HTTP path (Consul would clean or redirect
 * those). Existing data depends on this exact encoding.
 */
export function encodeName(name: string): string {
  return encodeURIComponent(name).replaceAll('.', '%2E');
}

/** Where one kind of named record lives, and the transaction operations that keep its index true. */
export class RecordLayout {
  /** The prefix of every record key, to `list` them all. */
  readonly byId: string;
  private readonly byName: string;

  /** `idShape` says which strings are tried as ids (never as KV paths); anything else is a name. */
  constructor(
    area: string,
    private readonly idShape: RegExp,
  ) {
    this.byId = `${area}/by-id/`;
    this.byName = `${area}/by-name/`;
  }

  isId(idOrName: string): boolean {
    return this.idShape.test(idOrName);
  }

  idKey(id: string): string {
    return this.byId + id;
  }

  nameKey(name: string): string {
    return this.byName + encodeName(name);
  }

  claimName(name: string, id: string): TxnOp[] {
    return [
      { verb: 'check-not-exists', key: this.nameKey(name) },
      { verb: 'set', key: this.nameKey(name), value: id },
    ];
  }

  /** Creates the record and claims its name: op 0 fails on an id collision, a later one on a taken name. */
  insertOps(record: Named): TxnOp[] {
    return [{ verb: 'cas', key: this.idKey(record.id), value: JSON.stringify(record), index: 0 }, ...this.claimName(record.name, record.id)];
  }

  /**
   * The record cas first (op 0, so a race is told apart from a taken name), then the rename, if any: the
   * new name's `check-not-exists` is op 1.
   */
  replaceOps(found: Found<Named>, next: Named): TxnOp[] {
    const ops: TxnOp[] = [{ verb: 'cas', key: this.idKey(next.id), value: JSON.stringify(next), index: found.index }];
    if (next.name === found.stored.name) return ops;
    return [...ops, ...this.claimName(next.name, next.id), { verb: 'delete', key: this.nameKey(found.stored.name) }];
  }

  /** Deletes the record if unchanged since read, and its name entry. */
  removeOps(found: Found<Named>): TxnOp[] {
    return [
      { verb: 'delete-cas', key: this.idKey(found.stored.id), index: found.index },
      // Safe without a check: the record cas proves it still holds this name, so the entry is ours.
      { verb: 'delete', key: this.nameKey(found.stored.name) },
    ];
  }
}

/** Ids win over names; a name only counts while its record still carries it. */
export async function findNamed<T extends Named>(state: StateStore, layout: RecordLayout, idOrName: string): Promise<Found<T> | undefined> {
  const byId = layout.isId(idOrName) ? await readNamed<T>(state, layout, idOrName) : undefined;
  return byId ?? (await findByName<T>(state, layout, idOrName));
}

async function findByName<T extends Named>(state: StateStore, layout: RecordLayout, name: string): Promise<Found<T> | undefined> {
  const entry = await state.get(layout.nameKey(name));
  if (!entry) return undefined;
  const found = await readNamed<T>(state, layout, entry.value);
  // The two reads are not atomic: a rename in between leaves the record under another name.
  return found?.stored.name === name ? found : undefined;
}

async function readNamed<T>(state: StateStore, layout: RecordLayout, id: string): Promise<Found<T> | undefined> {
  const entry = await state.get(layout.idKey(id));
  return entry && { stored: JSON.parse(entry.value) as T, index: entry.modifyIndex };
}

export function failedOpAt(result: TxnResult, opIndex: number): boolean {
  return !result.ok && result.errors.some((e) => e.opIndex === opIndex);
}

/**
 * Runs one read-modify-write attempt until it stops reporting a lost race, a bounded number of times;
 * then fails with GANTRY_ERR_STATE_CONFLICT, naming `what` was being done to which `kind` of record.
 */
export async function retryOnRace<T>(what: string, kind: string, attempt: () => Promise<T | typeof RACE>): Promise<T> {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const outcome = await attempt();
    if (outcome !== RACE) return outcome;
  }
  throw appError('GANTRY_ERR_STATE_CONFLICT', `${what}: the ${kind} kept changing concurrently; try again`);
}

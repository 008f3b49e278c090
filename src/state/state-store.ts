/**
 * The StateStore seam: a small key/value store with Consul KV's semantics, so the embedded SQLite
 * implementation and the cluster's Consul KV implementation are interchangeable.
 *
 * - Keys are `/`-separated strings without a leading `/` (`auth/keys/<hash>`); values are UTF-8 strings.
 * - Every write bumps one store-wide index; an entry records the index that created it (`createIndex`)
 *   and the index of its last write (`modifyIndex`). Consul's raft index behaves the same way.
 * - Compare-and-set takes the `modifyIndex` the caller last read; index 0 means "only if absent".
 * - A transaction applies all of its operations or none of them.
 * - A write that resolved is durable: it survives the process being killed.
 */

export interface KvEntry {
  key: string;
  value: string;
  createIndex: number;
  modifyIndex: number;
}

export type TxnOp =
  | { verb: 'set'; key: string; value: string }
  | { verb: 'cas'; key: string; value: string; index: number }
  | { verb: 'get'; key: string }
  | { verb: 'delete'; key: string }
  | { verb: 'delete-cas'; key: string; index: number }
  | { verb: 'check-index'; key: string; index: number }
  | { verb: 'check-not-exists'; key: string };

export interface ListOptions {
  /** Only keys sorted after this one (the last key of the previous page). */
  after?: string;
  /** At most this many entries. */
  limit?: number;
}

export interface TxnError {
  /** Position of the operation that failed in the submitted list. */
  opIndex: number;
  what: string;
}

export type TxnResult =
  | { ok: true; results: KvEntry[]; index: number }
  | { ok: false; errors: TxnError[] };

/**
 * Largest number of operations one `txn` call accepts. Consul's `/v1/txn` takes at most 128 operations
 * (hashicorp.md); callers that need more split their work.
 */
export const MAX_TXN_OPS = 128;

export interface StateStore {
  get(key: string): Promise<KvEntry | undefined>;
  /** Unconditional write; resolves with the entry's new modifyIndex. */
  put(key: string, value: string): Promise<number>;
  /** Resolves true when a key was deleted, false when it did not exist. */
  delete(key: string): Promise<boolean>;
  /** Writes only if the entry's modifyIndex is `index` (0: only if absent). Resolves false otherwise. */
  cas(key: string, value: string, index: number): Promise<boolean>;
  /** All-or-nothing. `results` holds the entries that `set`, `cas` and `get` produced, in order. */
  txn(ops: TxnOp[]): Promise<TxnResult>;
  /** Entries whose key starts with `prefix`, sorted by key; a page of them with `options`. */
  list(prefix: string, options?: ListOptions): Promise<KvEntry[]>;
  close(): Promise<void>;
}

/** A transaction was refused because it had more operations than the store allows. */
export class TxnTooLargeError extends Error {
  override readonly name = 'TxnTooLargeError';
  constructor(count: number) {
    super(`transaction has ${count} operations; at most ${MAX_TXN_OPS} are allowed`);
  }
}

/** Validates a key the same way for every implementation (Consul refuses a leading `/` and empty keys). */
export function assertValidKey(key: string): void {
  if (key.length === 0 || key.startsWith('/') || key.includes('\0')) {
    throw new TypeError(`invalid state key ${JSON.stringify(key)}`);
  }
}

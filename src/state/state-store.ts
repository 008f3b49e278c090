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

/**
 * Largest value one key holds, in UTF-8 bytes, and largest sum of key and value bytes in one `txn`. Consul
 * refuses values over `kv_max_value_size` (512 KiB) and `/v1/txn` bodies over `txn_max_req_len` (512 KiB)
 * in which values travel base64-encoded (4/3 larger) with about 100 bytes of JSON per operation: 360 KiB of
 * keys and values stays under 512 KiB on the wire even with 128 operations. A single value leaves 8 KiB for
 * its key, so a write of one value always fits one transaction. Every implementation enforces the same
 * limits, so what the embedded default stores the cluster stores too.
 */
export const MAX_VALUE_BYTES = 352 * 1024;
export const MAX_TXN_BYTES = 360 * 1024;

/** A transaction was refused because it had more operations (or bytes) than the store allows. */
export class TxnTooLargeError extends Error {
  override readonly name = 'TxnTooLargeError';
  constructor(count: number, detail?: string) {
    super(detail ?? `transaction has ${count} operations; at most ${MAX_TXN_OPS} are allowed`);
  }
}

/** A value was refused because it is larger than MAX_VALUE_BYTES. */
export class ValueTooLargeError extends Error {
  override readonly name = 'ValueTooLargeError';
  constructor(
    readonly key: string,
    readonly bytes: number,
  ) {
    super(`value of ${bytes} bytes for state key "${key}" is over the limit of ${MAX_VALUE_BYTES} bytes`);
  }
}

/** Bytes a transaction's keys and values take, the measure MAX_TXN_BYTES limits. */
export function txnBytes(ops: TxnOp[]): number {
  return ops.reduce((sum, op) => sum + Buffer.byteLength(op.key) + ('value' in op ? Buffer.byteLength(op.value) : 0), 0);
}

/** The checks every implementation runs before a write: keys, value sizes, operation count and bytes. */
export function assertWritable(ops: TxnOp[]): void {
  if (ops.length > MAX_TXN_OPS) throw new TxnTooLargeError(ops.length);
  for (const op of ops) {
    assertValidKey(op.key);
    if ('value' in op && Buffer.byteLength(op.value) > MAX_VALUE_BYTES) throw new ValueTooLargeError(op.key, Buffer.byteLength(op.value));
  }
  const bytes = txnBytes(ops);
  if (bytes > MAX_TXN_BYTES) {
    throw new TxnTooLargeError(ops.length, `transaction holds ${bytes} bytes of keys and values; at most ${MAX_TXN_BYTES} are allowed`);
  }
}

/** Validates a key the same way for every implementation (Consul refuses a leading `/` and empty keys). */
export function assertValidKey(key: string): void {
  if (key.length === 0 || key.startsWith('/') || key.includes('\0')) {
    throw new TypeError(`invalid state key ${JSON.stringify(key)}`);
  }
}

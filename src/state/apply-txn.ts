import type { KvEntry, TxnError, TxnOp } from './state-store.js';

/** The storage primitives a StateStore implementation lends to `applyTxnOps`. */
export interface KvAccess {
  read(key: string): KvEntry | undefined;
  write(key: string, value: string, index: number): KvEntry;
  remove(key: string): void;
}

/**
 * Consul KV transaction semantics, written once for every local implementation: applies `ops` in order
 * at the new store-wide `index`, collecting the entries that `set`, `cas` and `get` produce and the reason
 * of every failed operation. The caller rolls back when `errors` is not empty.
 */
export function applyTxnOps(ops: TxnOp[], index: number, kv: KvAccess): { results: KvEntry[]; errors: TxnError[] } {
  const results: KvEntry[] = [];
  const errors: TxnError[] = [];
  ops.forEach((op, opIndex) => {
    const what = applyOp(op, index, kv, results);
    if (what) errors.push({ opIndex, what });
  });
  return { results, errors };
}

function applyOp(op: TxnOp, index: number, kv: KvAccess, results: KvEntry[]): string | undefined {
  const current = kv.read(op.key);
  const mismatch = (expected: number): string | undefined => {
    const actual = current?.modifyIndex ?? 0;
    return actual === expected ? undefined : `index mismatch on ${op.key}: expected ${expected}, is ${actual}`;
  };
  switch (op.verb) {
    case 'set':
      results.push(kv.write(op.key, op.value, index));
      return undefined;
    case 'cas':
      return mismatch(op.index) ?? void results.push(kv.write(op.key, op.value, index));
    case 'get':
      if (!current) return `key ${op.key} does not exist`;
      results.push(current);
      return undefined;
    case 'delete':
      kv.remove(op.key);
      return undefined;
    case 'delete-cas':
      return mismatch(op.index) ?? void kv.remove(op.key);
    case 'check-index':
      return current ? mismatch(op.index) : `key ${op.key} does not exist`;
    case 'check-not-exists':
      return current ? `key ${op.key} exists` : undefined;
  }
}

import {
  assertValidKey,
  assertWritable,
  type KvEntry,
  type ListOptions,
  type StateStore,
  type TxnOp,
  type TxnResult,
} from '../../src/state/state-store.js';
import { applyTxnOps } from '../../src/state/apply-txn.js';

/**
 * In-memory StateStore with the same semantics as the SQLite and Consul implementations (it passes the
 * same contract suite). Records every call and can be told to fail the next one.
 */
export class MemoryStateStore implements StateStore {
  readonly calls: Array<{ method: string; key?: string }> = [];
  private entries = new Map<string, KvEntry>();
  private index = 0;
  private pendingFailure: Error | undefined;

  /** The next call rejects with `err`. */
  failNext(err: Error): void {
    this.pendingFailure = err;
  }

  async get(key: string): Promise<KvEntry | undefined> {
    this.record('get', key);
    assertValidKey(key);
    const entry = this.entries.get(key);
    return entry && { ...entry };
  }

  async put(key: string, value: string): Promise<number> {
    this.record('put', key);
    const result = this.applyTxn([{ verb: 'set', key, value }]);
    if (!result.ok) throw new Error(result.errors[0]!.what);
    return result.results[0]!.modifyIndex;
  }

  async delete(key: string): Promise<boolean> {
    this.record('delete', key);
    const existed = this.entries.has(key);
    this.applyTxn([{ verb: 'delete', key }]);
    return existed;
  }

  async cas(key: string, value: string, index: number): Promise<boolean> {
    this.record('cas', key);
    return this.applyTxn([{ verb: 'cas', key, value, index }]).ok;
  }

  async txn(ops: TxnOp[]): Promise<TxnResult> {
    this.record('txn');
    return this.applyTxn(ops);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<KvEntry[]> {
    this.record('list', prefix);
    const after = options.after;
    return [...this.entries.values()]
      .filter((e) => e.key.startsWith(prefix) && (after === undefined || e.key > after))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, options.limit ?? Infinity)
      .map((e) => ({ ...e }));
  }

  async close(): Promise<void> {
    this.record('close');
  }

  private record(method: string, key?: string): void {
    this.calls.push({ method, key });
    const failure = this.pendingFailure;
    this.pendingFailure = undefined;
    if (failure) throw failure;
  }

  /** Applies to a copy and swaps it in only when every operation succeeded. */
  private applyTxn(ops: TxnOp[]): TxnResult {
    assertWritable(ops);
    const next = new Map(this.entries);
    const index = this.index + 1;
    const { results, errors } = applyTxnOps(ops, index, {
      read: (key) => copy(next.get(key)),
      write: (key, value, at) => {
        const entry = { key, value, createIndex: next.get(key)?.createIndex ?? at, modifyIndex: at };
        next.set(key, entry);
        return { ...entry };
      },
      remove: (key) => void next.delete(key),
    });
    if (errors.length > 0) return { ok: false, errors };
    this.entries = next;
    this.index = index;
    return { ok: true, results, index };
  }
}

function copy(entry: KvEntry | undefined): KvEntry | undefined {
  return entry && { ...entry };
}

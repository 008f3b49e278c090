import { UnexpectedResponseError, type ConsulClient, type KvPair, type TxnKvOp } from '../../clients/consul/index.js';
import {
  assertValidKey,
  assertWritable,
  MAX_TXN_OPS,
  TxnTooLargeError,
  type KvEntry,
  type ListOptions,
  type StateStore,
  type TxnOp,
  type TxnResult,
} from '../state-store.js';
import { decodeSafeKey, encodeSafeKey } from '../../shared/safe-key.js';
import { ScanCursors } from './scan-cursors.js';

/**
 * The StateStore on Consul KV (hashicorp.md §3.3–3.4). Consul's raft index is the store-wide index;
 * `txn` is one `/v1/txn` call, never split: MAX_TXN_OPS (128) is Consul's own limit since 1.14 and
 * MAX_TXN_BYTES keeps the body under `txn_max_req_len`, so every transaction the interface accepts is
 * atomic in Consul. (Group commit packs whole callers into transactions up to these limits:
 * `queue/write-batcher.ts`.) Older Consul (64 operations) answers 413, reported as such.
 *
 * Keys live under `prefix` (default `gantry/`) in the encoding of `key-codec.ts`.
 * One difference with the embedded stores: Consul's `delete-cas` of a key that is already gone succeeds.
 */
/** Rounds of read + delete-cas before a delete of a key that keeps changing gives up. */
const MAX_DELETE_ATTEMPTS = 16;

export class ConsulStateStore implements StateStore {
  private readonly cursors = new ScanCursors();

  constructor(
    private readonly client: ConsulClient,
    private readonly prefix = 'gantry/',
  ) {
    if (!/^([A-Za-z0-9\-_]+\/)*$/.test(prefix)) {
      throw new TypeError(`Consul key prefix "${prefix}" must be empty or segments of A-Z a-z 0-9 - _ each ending in "/"`);
    }
  }

  async get(key: string): Promise<KvEntry | undefined> {
    assertValidKey(key);
    const { data } = await this.client.kv.get(this.consulKey(key));
    return data && this.toEntry(data);
  }

  async put(key: string, value: string): Promise<number> {
    const result = await this.txn([{ verb: 'set', key, value }]);
    if (!result.ok) throw new Error(`writing state key "${key}" failed: ${result.errors[0]?.what}`);
    return result.results[0]!.modifyIndex;
  }

  /** Read, then delete with `cas`, so the answer says whether this call removed the key. */
  async delete(key: string): Promise<boolean> {
    assertValidKey(key);
    for (let attempt = 0; attempt < MAX_DELETE_ATTEMPTS; attempt++) {
      const { data } = await this.client.kv.get(this.consulKey(key));
      if (!data) return false;
      if (await this.client.kv.delete(this.consulKey(key), { cas: data.ModifyIndex })) return true;
    }
    throw new Error(`deleting state key "${key}": it kept changing concurrently (${MAX_DELETE_ATTEMPTS} attempts)`);
  }

  async cas(key: string, value: string, index: number): Promise<boolean> {
    assertWritable([{ verb: 'cas', key, value, index }]);
    return this.client.kv.put(this.consulKey(key), Buffer.from(value, 'utf8'), { cas: index });
  }

  async txn(ops: TxnOp[]): Promise<TxnResult> {
    assertWritable(ops);
    const response = await this.client.txn.apply(ops.map((op) => this.toConsulOp(op))).catch((err: unknown) => {
      if (err instanceof UnexpectedResponseError && err.status === 413) {
        throw new TxnTooLargeError(ops.length, `Consul refused a transaction of ${ops.length} operations (${err.body.trim()}); Gantry needs Consul 1.14 or newer`);
      }
      throw err;
    });
    if (!response.ok) return { ok: false, errors: response.errors.map((e) => ({ opIndex: e.OpIndex, what: e.What })) };
    const results = this.pairResults(ops, response.results);
    return { ok: true, results, index: Math.max(0, ...response.results.map((r) => r.ModifyIndex)) };
  }

  /**
   * Consul has no paging: a whole listing is one `?recurse`; a page reads the key names under the prefix
   * and reads the page's entries with read-only transactions of up to 128 `get-or-empty`. The names a page
   * listed but did not return are kept for the page that continues after it (the next page of the same
   * scan), so a scan lists the names once and reads each entry once: linear in the number of keys, where
   * listing again for every page was quadratic. A scan so sees the keys that existed when its first page
   * was listed (each read as it is when its page is read; a key deleted since is skipped), as one
   * `?recurse` would; keys created during the scan may be missed, and the next scan sees them.
   */
  async list(prefix: string, options: ListOptions = {}): Promise<KvEntry[]> {
    if (options.after === undefined && options.limit === undefined) {
      const { data } = await this.client.kv.list(this.consulKey(prefix));
      return sortByKey(data.map((pair) => this.toEntry(pair)));
    }
    const names = this.cursors.take(prefix, options.after) ?? (await this.listNames(prefix, options.after));
    const limit = options.limit ?? Infinity;
    const entries = await this.readMany(names.slice(0, limit));
    const last = entries.at(-1)?.key;
    // Kept even when nothing is left: the scan's last, empty, page then needs no listing either.
    if (last !== undefined && options.limit !== undefined) this.cursors.keep(prefix, last, names.slice(limit));
    return entries;
  }

  /** The state keys under `prefix` sorted after `after`, from one `?keys` listing. */
  private async listNames(prefix: string, after: string | undefined): Promise<string[]> {
    const { data: names } = await this.client.kv.keys(this.consulKey(prefix));
    return names
      .map((name) => this.stateKey(name))
      .filter((key) => after === undefined || key > after)
      .sort(compareKeys);
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private async readMany(keys: string[]): Promise<KvEntry[]> {
    const entries: KvEntry[] = [];
    for (let i = 0; i < keys.length; i += MAX_TXN_OPS) {
      const ops: TxnKvOp[] = keys.slice(i, i + MAX_TXN_OPS).map((key) => ({ Verb: 'get-or-empty', Key: this.consulKey(key) }));
      const response = await this.client.txn.apply(ops);
      if (!response.ok) throw new Error(`reading state keys failed: ${response.errors.map((e) => e.What).join('; ')}`);
      // A key deleted since the listing comes back empty with index 0.
      entries.push(...response.results.filter((r) => r.ModifyIndex > 0).map((r) => this.toEntry(r)));
    }
    return entries;
  }

  private toConsulOp(op: TxnOp): TxnKvOp {
    const Key = this.consulKey(op.key);
    switch (op.verb) {
      case 'set':
        return { Verb: 'set', Key, Value: base64(op.value) };
      case 'cas':
        return { Verb: 'cas', Key, Value: base64(op.value), Index: op.index };
      case 'delete-cas':
      case 'check-index':
        return { Verb: op.verb, Key, Index: op.index };
      default:
        return { Verb: op.verb, Key };
    }
  }

  /** Consul answers an entry for set, cas, get and check-index, in order; the interface wants the first three. */
  private pairResults(ops: TxnOp[], results: KvPair[]): KvEntry[] {
    const out: KvEntry[] = [];
    let next = 0;
    for (const op of ops) {
      if (op.verb === 'check-index') next++;
      if (op.verb !== 'set' && op.verb !== 'cas' && op.verb !== 'get') continue;
      const pair = results[next++]!;
      out.push(op.verb === 'get' ? this.toEntry(pair) : { ...this.toEntry(pair), value: op.value });
    }
    return out;
  }

  private toEntry(pair: KvPair): KvEntry {
    return {
      key: this.stateKey(pair.Key),
      value: pair.Value ? Buffer.from(pair.Value, 'base64').toString('utf8') : '',
      createIndex: pair.CreateIndex,
      modifyIndex: pair.ModifyIndex,
    };
  }

  private consulKey(key: string): string {
    return this.prefix + encodeSafeKey(key);
  }

  private stateKey(consulKey: string): string {
    return decodeSafeKey(consulKey.slice(this.prefix.length));
  }
}

function base64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortByKey(entries: KvEntry[]): KvEntry[] {
  return entries.sort((a, b) => compareKeys(a.key, b.key));
}

/**
 * The KV table of the Consul double, with the state-store semantics of hashicorp/consul
 * `agent/consul/state/kvs.go` and `txn.go` (facts only; hashicorp.md §3.3–3.4):
 *
 * - a write that changes nothing (same value, flags and session) keeps the entry's ModifyIndex;
 * - deletes leave a tombstone so a prefix's index never slides back while the tombstone lives;
 * - `cas` with index 0 creates only when absent; `delete-cas` on a missing key succeeds;
 * - `lock` needs a live session and fails (false, no error) while another session holds the key.
 *
 * Every method takes the raft index of the write it belongs to; the caller (`ConsulDoubleState`)
 * allocates indexes and wakes blocked queries.
 */

export interface DirEntry {
  Key: string;
  Flags: number;
  Value: Buffer | null;
  Session?: string;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export class KvTable {
  private entries = new Map<string, DirEntry>();
  private tombstones = new Map<string, number>();
  /** Highest index of any change to the table (entries or tombstones). */
  maxIndex = 0;

  get(key: string): DirEntry | undefined {
    return this.entries.get(key);
  }

  /** What a blocking read of one key watches: it moves on every write or delete of that key. */
  keyVersion(key: string): number {
    return this.entries.get(key)?.ModifyIndex ?? this.tombstones.get(key) ?? 0;
  }

  /** Entries under `prefix`, sorted by key (Consul's radix tree walks in byte order). */
  list(prefix: string): DirEntry[] {
    return [...this.entries.values()].filter((e) => e.Key.startsWith(prefix)).sort((a, b) => byteOrder(a.Key, b.Key));
  }

  /** The blocking index of a prefix listing: max of its entries and tombstones, else the table's. */
  prefixIndex(prefix: string): number {
    if (prefix === '') return this.maxIndex;
    let max = 0;
    for (const e of this.list(prefix)) max = Math.max(max, e.ModifyIndex);
    for (const [key, at] of this.tombstones) if (key.startsWith(prefix)) max = Math.max(max, at);
    return max === 0 ? this.maxIndex : max;
  }

  /** Plain set: keeps CreateIndex and the holding session. */
  set(idx: number, entry: Pick<DirEntry, 'Key' | 'Flags' | 'Value'>, session?: { id: string | undefined }): DirEntry {
    const existing = this.entries.get(entry.Key);
    const next: DirEntry = {
      Key: entry.Key,
      Flags: entry.Flags,
      Value: entry.Value,
      LockIndex: existing?.LockIndex ?? 0,
      CreateIndex: existing?.CreateIndex ?? idx,
      ModifyIndex: idx,
      ...sessionField(session ? session.id : existing?.Session),
    };
    if (existing && sameBits(existing, next)) return existing;
    this.write(next, idx);
    return next;
  }

  cas(idx: number, entry: Pick<DirEntry, 'Key' | 'Flags' | 'Value'>, index: number): DirEntry | undefined {
    const existing = this.entries.get(entry.Key);
    if (index === 0 ? existing !== undefined : existing?.ModifyIndex !== index) return undefined;
    return this.set(idx, entry);
  }

  /** Acquire for `session` (already validated as live). Undefined when another session holds it. */
  lock(idx: number, entry: Pick<DirEntry, 'Key' | 'Flags' | 'Value'>, session: string): DirEntry | undefined {
    const existing = this.entries.get(entry.Key);
    if (existing?.Session && existing.Session !== session) return undefined;
    const lockIndex = (existing?.LockIndex ?? 0) + (existing?.Session === session ? 0 : 1);
    const next: DirEntry = { ...entry, Session: session, LockIndex: lockIndex, CreateIndex: existing?.CreateIndex ?? idx, ModifyIndex: idx };
    this.write(next, idx);
    return next;
  }

  unlock(idx: number, entry: Pick<DirEntry, 'Key' | 'Flags' | 'Value'>, session: string): DirEntry | undefined {
    const existing = this.entries.get(entry.Key);
    if (!existing || existing.Session !== session) return undefined;
    const next: DirEntry = { ...entry, LockIndex: existing.LockIndex, CreateIndex: existing.CreateIndex, ModifyIndex: idx };
    this.write(next, idx);
    return next;
  }

  delete(idx: number, key: string): void {
    if (!this.entries.has(key)) return;
    this.entries.delete(key);
    this.tombstones.set(key, idx);
    this.maxIndex = Math.max(this.maxIndex, idx);
  }

  /** True when deleted or already absent; false when the key exists with another ModifyIndex. */
  deleteCas(idx: number, key: string, index: number): boolean {
    const existing = this.entries.get(key);
    if (!existing) return true;
    if (existing.ModifyIndex !== index) return false;
    this.delete(idx, key);
    return true;
  }

  deleteTree(idx: number, prefix: string): void {
    for (const e of this.list(prefix)) this.delete(idx, e.Key);
  }

  /** Keys held by `session`, for invalidation. */
  heldBy(session: string): DirEntry[] {
    return [...this.entries.values()].filter((e) => e.Session === session);
  }

  /** Releases a lock on session invalidation (`Behavior: release`): the value stays, the index moves. */
  releaseHeld(idx: number, key: string): void {
    const existing = this.entries.get(key);
    if (!existing) return;
    const { Session: _dropped, ...rest } = existing;
    this.write({ ...rest, ModifyIndex: idx }, idx);
  }

  /** A consistent copy, for rolling back a failed transaction. */
  snapshot(): () => void {
    const entries = new Map(this.entries);
    const tombstones = new Map(this.tombstones);
    const maxIndex = this.maxIndex;
    return () => {
      this.entries = entries;
      this.tombstones = tombstones;
      this.maxIndex = maxIndex;
    };
  }

  private write(entry: DirEntry, idx: number): void {
    this.entries.set(entry.Key, entry);
    this.tombstones.delete(entry.Key);
    this.maxIndex = Math.max(this.maxIndex, idx);
  }
}

function sessionField(session: string | undefined): { Session?: string } {
  return session ? { Session: session } : {};
}

/** Consul's DirEntry.Equal: everything but the raft indexes. */
function sameBits(a: DirEntry, b: DirEntry): boolean {
  const same = a.Value === null || b.Value === null ? a.Value === b.Value : a.Value.equals(b.Value);
  return same && a.Flags === b.Flags && a.Session === b.Session && a.LockIndex === b.LockIndex;
}

export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The wire form: Value base64 (null when empty), Session only when held. */
export function entryJson(entry: DirEntry, withValue = true): Record<string, unknown> {
  return {
    LockIndex: entry.LockIndex,
    Key: entry.Key,
    Flags: entry.Flags,
    Value: withValue && entry.Value && entry.Value.length > 0 ? entry.Value.toString('base64') : null,
    ...(entry.Session ? { Session: entry.Session } : {}),
    CreateIndex: entry.CreateIndex,
    ModifyIndex: entry.ModifyIndex,
  };
}

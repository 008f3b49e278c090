import { MAX_TXN_BYTES, MAX_TXN_OPS, txnBytes, type StateStore, type TxnOp } from '../state/state-store.js';

interface Pending {
  ops: TxnOp[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit. Concurrent mutations enqueue their writes; one flush, scheduled for the next turn of
 * the event loop, commits everything enqueued so far in as few transactions as the store allows, and
 * resolves every caller once its writes are durable. A durable write per request would cap throughput at
 * the disk's sync rate; sharing one sync between many requests does not (bench: `npm run bench:state`).
 *
 * Only unconditional `set`/`delete` operations are batched: the queue's in-memory state on the leader is
 * authoritative, so one caller's write can never make another caller's transaction fail.
 */
export class WriteBatcher {
  private queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;

  constructor(private readonly store: StateStore) {}

  write(ops: TxnOp[]): Promise<void> {
    if (ops.length > MAX_TXN_OPS) return Promise.reject(new RangeError(`${ops.length} operations in one write`));
    const bytes = txnBytes(ops);
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, bytes, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything enqueued before the call is committed. */
  async drain(): Promise<void> {
    await this.write([]);
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    try {
      while (this.queue.length > 0) await this.commit(this.takeBatch());
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Whole callers, up to MAX_TXN_OPS operations and MAX_TXN_BYTES bytes (Consul's `/v1/txn` limits): a
   * caller's writes are never split, so each caller's write stays atomic. A caller whose write alone is
   * too large gets the store's error.
   */
  private takeBatch(): Pending[] {
    let ops = 0;
    let bytes = 0;
    let n = 0;
    const fits = (p: Pending) => ops + p.ops.length <= MAX_TXN_OPS && bytes + p.bytes <= MAX_TXN_BYTES;
    while (n < this.queue.length && fits(this.queue[n]!)) {
      ops += this.queue[n]!.ops.length;
      bytes += this.queue[n++]!.bytes;
    }
    return this.queue.splice(0, Math.max(n, 1));
  }

  private async commit(batch: Pending[]): Promise<void> {
    const ops = batch.flatMap((p) => p.ops);
    try {
      const result = ops.length > 0 ? await this.store.txn(ops) : { ok: true as const };
      if (!result.ok) throw new Error(`queue write failed: ${result.errors.map((e) => e.what).join('; ')}`);
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}

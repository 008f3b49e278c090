import { appError } from '../shared/errors.js';
import { MAX_TXN_BYTES, MAX_TXN_OPS, txnBytes, type StateStore, type TxnOp } from '../state/state-store.js';

/** One leadership (or the single node's unfenced writes): its fence, and whether it ended. */
interface Leadership {
  fence: TxnOp | undefined;
  refused: boolean;
}

interface Pending {
  ops: TxnOp[];
  bytes: number;
  /** The leadership the write was queued under: it commits under that fence or not at all. */
  leadership: Leadership;
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
 *
 * On a cluster every transaction also carries the leadership's fence (coordinator.ts): when it fails this
 * replica was deposed, every write of the batch is refused as GANTRY_ERR_NOT_LEADER (not acknowledged, so
 * nothing is lost), and so is every later write until `open()` is called for a new leadership. Each
 * write belongs to the leadership it was queued under: a transaction holds the writes of one leadership
 * only, and the writes of a leadership that ended are refused, even when a new one began before the flush.
 */
export class WriteBatcher {
  private queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;
  /** The current leadership; unfenced (the single node) until `open()`. */
  private leadership: Leadership = { fence: undefined, refused: false };

  constructor(private readonly store: StateStore) {}

  /** Accepts writes again, each transaction checked by `fence` when given. */
  open(fence: TxnOp | undefined): void {
    this.leadership.refused = true;
    this.leadership = { fence, refused: false };
  }

  /** Refuses every write not yet committed, and later ones, until `open()`. */
  refuse(): void {
    this.leadership.refused = true;
  }

  /** Enqueues one caller's writes (at most MAX_TXN_OPS - 1: a transaction keeps room for the fence). */
  write(ops: TxnOp[]): Promise<void> {
    if (ops.length > MAX_TXN_OPS - 1) return Promise.reject(new RangeError(`${ops.length} operations in one write`));
    const bytes = txnBytes(ops);
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, bytes, leadership: this.leadership, resolve, reject });
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
    let n = 0;
    const { leadership } = this.queue[0]!;
    const reserved = leadership.fence ? [leadership.fence] : [];
    let ops = reserved.length;
    let bytes = txnBytes(reserved);
    const fits = (p: Pending) => p.leadership === leadership && ops + p.ops.length <= MAX_TXN_OPS && bytes + p.bytes <= MAX_TXN_BYTES;
    while (n < this.queue.length && fits(this.queue[n]!)) {
      ops += this.queue[n]!.ops.length;
      bytes += this.queue[n++]!.bytes;
    }
    return this.queue.splice(0, Math.max(n, 1));
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      await this.apply(batch[0]!.leadership, batch.flatMap((p) => p.ops));
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  private async apply(leadership: Leadership, ops: TxnOp[]): Promise<void> {
    const { fence } = leadership;
    if (ops.length === 0) return;
    if (leadership.refused) throw notLeader();
    const result = await this.store.txn(fence ? [fence, ...ops] : ops);
    if (result.ok) return;
    if (fence && result.errors.some((e) => e.opIndex === 0)) {
      leadership.refused = true;
      throw notLeader();
    }
    throw new Error(`queue write failed: ${result.errors.map((e) => e.what).join('; ')}`);
  }
}

/** The error a deposed or stepped-down queue answers with: the caller retries through any replica. */
export function notLeader(): Error {
  return appError('GANTRY_ERR_NOT_LEADER', 'this replica no longer leads the queue; retry shortly (through any replica)');
}

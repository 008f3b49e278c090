import { PriorityQueue } from './priority-queue.js';
import type { Claimant, JobRecord } from './types.js';

/** A worker's long poll, waiting for a job. */
export interface Waiter {
  claimant: Claimant;
  claimTimeoutSeconds: number | undefined;
  defaultLeaseSeconds: number;
  /** Stops the poll's timeout and abort handling: a job is on its way and only `resolve` ends it now. */
  reserve: () => void;
  resolve: (job: JobRecord | undefined) => void;
}

/** When a running job's claim ends without news, on the monotonic clock (`monotonicNow`). */
export interface Deadline {
  /** End of its lease (`claim_timeout`, renewed by `running` updates); undefined while replica-bound. */
  lease: number | undefined;
  /** The ceiling of a replica-bound claim (compat.md §8.2). */
  ceiling: number;
  /** Why the claim is lost though writing so failed: the lease sweep tries again. */
  lost?: string;
}

/**
 * The in-memory state of one deployment's queue on the leader: pending jobs (ids and places only; their
 * records stay in the store), jobs being handed out, running jobs (whole records: there are only as many
 * as workers), and waiting workers. Invariant: while workers wait, nothing is pending.
 *
 * Memory follows the store: a job's place here changes only through `place()`, called with a record
 * once that record is durable (transition.ts), and the transitions of one job run one at a time
 * (`exclusive()`), so each starts from what the store holds.
 */
export class DeploymentQueue {
  readonly pending = new PriorityQueue();
  /** Popped from `pending`, record being read for a worker: request id → the claiming replica, if any. */
  readonly claiming = new Map<string, string | undefined>();
  readonly running = new Map<string, JobRecord>();
  /** Lease and ceiling deadlines of the running jobs. */
  readonly deadlines = new Map<string, Deadline>();
  /** Jobs whose last write failed and whose stored state could not be read back: settled by the sweep. */
  readonly unsure = new Map<string, { written: JobRecord; claim: boolean }>();
  readonly waiters: Waiter[] = [];
  /** Last poll per claimant, with the idle time the worker reported (x-idle-time). */
  readonly polls = new Map<string, { at: number; idleSeconds: number | undefined }>();
  /** Replicas a scale-down is about to stop: they get no job (the autoscaler's drain). */
  readonly draining = new Set<string>();
  /** The tail of each job's chain of transitions. */
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(readonly deploymentId: string) {}

  /** Runs `fn` once every earlier transition of the same job has ended. */
  exclusive<T>(requestId: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.busy.get(requestId) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    this.busy.set(requestId, tail);
    void tail.then(() => this.busy.get(requestId) === tail && this.busy.delete(requestId));
    return run;
  }

  /** Puts a durable record where its status says: pending in the heap, running in `running`, else nowhere. */
  place(record: JobRecord, deadline?: Deadline): void {
    const id = record.request_id;
    this.pending.remove(id);
    this.running.delete(id);
    this.deadlines.delete(id);
    if (record.status === 'pending') this.pending.push({ id, priority: record.priority, seq: record.seq });
    if (record.status !== 'running') return;
    this.running.set(id, record);
    if (deadline) this.deadlines.set(id, deadline);
  }

  /** The oldest waiting worker that is not draining. */
  nextWaiter(): Waiter | undefined {
    const i = this.waiters.findIndex((w) => !this.isDraining(w.claimant));
    return i === -1 ? undefined : this.waiters.splice(i, 1)[0];
  }

  isDraining(claimant: Claimant): boolean {
    return claimant.replicaId !== undefined && this.draining.has(claimant.replicaId);
  }

  /** Jobs a replica holds or is being handed. */
  claimsOf(replicaId: string): number {
    const running = [...this.running.values()].filter((r) => r.claim?.replica_id === replicaId).length;
    return running + [...this.claiming.values()].filter((id) => id === replicaId).length;
  }

  dropWaiter(waiter: Waiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i !== -1) this.waiters.splice(i, 1);
  }

  /** Whether a job is pending, being handed out or running (i.e. held in memory). */
  state(requestId: string): 'pending' | 'running' | undefined {
    if (this.pending.has(requestId)) return 'pending';
    return this.claiming.has(requestId) || this.running.has(requestId) ? 'running' : undefined;
  }
}

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

/**
 * The in-memory state of one deployment's queue on the leader: pending jobs (ids and places only; their
 * records stay in the store), jobs being handed out, running jobs (whole records: there are only as many
 * as workers), and waiting workers. Invariant: while workers wait, nothing is pending.
 */
export class DeploymentQueue {
  readonly pending = new PriorityQueue();
  /** Popped from `pending`, record being read for a waiting worker. */
  readonly claiming = new Set<string>();
  readonly running = new Map<string, JobRecord>();
  readonly waiters: Waiter[] = [];
  /** Last poll per claimant, with the idle time the worker reported (x-idle-time). */
  readonly polls = new Map<string, { at: number; idleSeconds: number | undefined }>();

  constructor(readonly deploymentId: string) {}

  nextWaiter(): Waiter | undefined {
    return this.waiters.shift();
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

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
  /** Popped from `pending`, record being read for a worker: request id → the claiming replica, if any. */
  readonly claiming = new Map<string, string | undefined>();
  readonly running = new Map<string, JobRecord>();
  readonly waiters: Waiter[] = [];
  /** Last poll per claimant, with the idle time the worker reported (x-idle-time). */
  readonly polls = new Map<string, { at: number; idleSeconds: number | undefined }>();
  /** Replicas a scale-down is about to stop: they get no job (the autoscaler's drain). */
  readonly draining = new Set<string>();

  constructor(readonly deploymentId: string) {}

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

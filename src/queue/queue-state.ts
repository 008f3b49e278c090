import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { DeploymentQueue } from './deployment-queue.js';
import type { QueueEvents } from './events.js';
import type { JobStore } from './job-store.js';

export interface QueueSettings {
  /** How often expired leases are looked for, in ms (default: 500). */
  leaseSweepMs: number;
  /** Longest a replica-bound claim lasts without news (compat.md §8.2; default: 24 h). */
  claimCeilingMs: number;
  /** Largest outputs JSON a worker may report (compat.md §8.31; default: 32 MiB). */
  maxOutputBytes: number;
  /** How long finished jobs are kept (compat.md §8.19; default: 7 days). */
  retentionMs: number;
  /** How often the incarnations holding replica-bound claims are checked, in ms (default: 10 s). */
  incarnationSweepMs?: number;
}

export interface JobQueueDeps {
  store: JobStore;
  clock: Clock;
  logger: Logger;
  settings: QueueSettings;
  /**
   * The incarnation of each of a deployment's replicas that runs now (Scheduler.incarnations): claims
   * are bound to the incarnation that made them (default: none known, every replica assumed running).
   */
  incarnations?: (deploymentId: string) => Promise<Map<string, string>>;
}

/**
 * The in-memory state that `JobQueue` and its parts (claims, cancellation, replicas, leadership, sweeps)
 * share, handed to each of them explicitly. It holds what the leader knows; the store holds the truth.
 */
export class QueueState {
  readonly queues = new Map<string, DeploymentQueue>();
  /** The highest submission order handed out or found by the rebuild; the next job gets one more. */
  seq = 0;

  constructor(
    readonly deps: JobQueueDeps,
    readonly events: QueueEvents,
  ) {}

  /** A deployment's queue, made empty on first use. */
  queueOf(deploymentId: string): DeploymentQueue {
    let q = this.queues.get(deploymentId);
    if (!q) this.queues.set(deploymentId, (q = new DeploymentQueue(deploymentId)));
    return q;
  }
}

/**
 * The job queue. Terminology:
 * - *deployment*: a queue belongs to one deployment, bound to its id (a rename does not move it);
 * - *job*: one submitted request (`request_id`, a UUIDv7), with a payload, `info` and later `outputs`;
 * - *claim*: a worker taking a job through `retrieve`; handing it out *is* the claim (compat.md §3.5);
 * - *claimant*: who holds a claim: a replica (worker token issued to one replica) or a key plus hostname;
 * - *incarnation*: one run of a replica's process (Scheduler.incarnations); a replica-bound claim is held
 *   by the incarnation that made it, and is lost once that incarnation no longer runs (§8.2);
 * - *lease*: how long a claim lasts without news: `claim_timeout` seconds renewed by each `running`
 *   update, or, for a replica that sent none, as long as that replica lives (up to a ceiling, §8.2);
 * - *attempt*: one claim of a job; a lost claim (lease expired, replica gone) requeues the job at its
 *   original place and counts one more in `retries`, until `max_retries`, then the job fails (§8.2, §8.6);
 * - *waiter*: a worker's long poll waiting for a job; a submitted job goes straight to the oldest waiter.
 */

export type JobStatus = 'pending' | 'running' | 'done' | 'failed' | 'canceled';

export const TERMINAL: ReadonlySet<JobStatus> = new Set(['done', 'failed', 'canceled']);

export type JsonObject = Record<string, unknown>;

export interface Claim {
  claimant: string;
  replica_id?: string;
  /** The incarnation of `replica_id` that holds the claim; undefined when the scheduler knew none. */
  incarnation?: string;
  hostname?: string;
  /** Epoch ms when the lease ends without news; undefined while bound to a live replica. */
  lease_until?: number;
  /** Seconds a `running` update renews the lease by; undefined for replica-bound claims. */
  lease_seconds?: number;
}

/** A job as stored. `payload`/`outputs` live in the BlobStore (`*_ref`) when larger than the inline limit. */
export interface JobRecord {
  request_id: string;
  deployment_id: string;
  model: string;
  status: JobStatus;
  priority: number;
  /** Submission order, store-wide; a requeued job keeps it, so it returns to its original place. */
  seq: number;
  retries: number;
  max_retries: number;
  created_at: string;
  claimed_at?: string;
  done_at?: string;
  payload?: JsonObject;
  payload_ref?: string;
  info: JsonObject;
  outputs?: JsonObject;
  outputs_ref?: string;
  warnings: string[];
  claim?: Claim;
  /** Who reported the outcome of a finished job (its claimant and incarnation): only it may repeat it. */
  done_by?: { claimant: string; incarnation?: string };
}

/** A job as the Queue API returns it (compat.md §4 QueueJobStatusResponse). */
export interface JobView {
  request_id: string;
  model: string;
  status: JobStatus;
  priority: number;
  retries: number;
  created_at: string;
  claimed_at: string | null;
  done_at: string | null;
  inputs: JsonObject;
  outputs: JsonObject | null;
  info: JsonObject;
  warnings: string[];
}

/** Who is asking for or reporting on a job. */
export interface Claimant {
  /** Stable identity compared on every status update. */
  key: string;
  replicaId?: string;
  /** The replica's incarnation that is asking, as the scheduler reports it (set by the queue). */
  incarnation?: string;
  hostname?: string;
}

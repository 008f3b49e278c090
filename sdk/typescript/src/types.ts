/**
 * Shared types of the worker SDK.
 *
 * Terminology (as in Gantry's queue): a *job* is one submitted payload; the worker *claims* it with a
 * long-poll retrieve and holds a *lease* on it that each `running` status update (a heartbeat) renews;
 * the job ends when the worker reports `done` (with outputs) or `failed` (with `info.error`).
 */

/** A JSON object as it arrives from the queue or a direct HTTP request. */
export type JsonObject = Record<string, unknown>;

/** Where a predict call comes from. */
export type PredictMode = 'queue' | 'http' | 'warmup';

/**
 * What `predict` gets besides its arguments. Passed explicitly, so a predict is a plain method that a
 * test can call with a context of its own (see `@gantry/sprocket/testing`).
 */
export interface PredictContext {
  /** The job's request id (a random UUID for direct HTTP requests and warmup runs). */
  readonly requestId: string;
  readonly mode: PredictMode;
  /**
   * Aborted when the job should stop: the server no longer holds it for this worker (canceled, or its
   * claim was lost), the HTTP client went away, or the predict timeout passed. `signal.reason` says which
   * (a `JobCanceledError` or a `PredictTimeoutError`).
   */
  readonly signal: AbortSignal;
  /** Merges `info` into the job's `info` (see `emitInfo`). */
  emitInfo(info: JsonObject): void;
}

/**
 * The states of a worker, in order. `starting`: setup and warmup run, /health answers 503. `ready`:
 * healthy, claiming jobs in queue mode. `stopping`: SIGTERM arrived; no new jobs, the running one finishes.
 * `stopped`: `shutdown()` has run.
 */
export type WorkerState = 'starting' | 'ready' | 'stopping' | 'stopped';

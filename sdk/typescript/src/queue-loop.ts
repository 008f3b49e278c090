import { HttpStatusError, isRefusal, type ClaimedJob, type UpdateOutcome, type WorkerApi } from './api-client.js';
import { describeError, errorText, isJobCanceledError, isPredictTimeoutError, JobCanceledError, UndecodableJobError } from './errors.js';
import { JobReporter } from './job-reporter.js';
import type { Logger } from './log.js';
import { handleJob, type PipelineDeps } from './pipeline.js';
import { setCurrentJob } from './progress.js';
import { backoffMs } from './retry.js';

export interface QueueLoopDeps {
  api: Pick<WorkerApi, 'retrieve' | 'postStatus'>;
  pipeline: PipelineDeps;
  heartbeatMs: number;
  infoIntervalMs: number;
  /** How long a `done`/`failed` update is retried (GANTRY_SPROCKET_STATUS_RETRY_SECONDS), for the give-up line. */
  statusRetryMs: number;
  log: Logger;
  /** True once SIGTERM arrived: no further claims. */
  stopping(): boolean;
  /** The worker must restart (a predict timed out, or a job's result could not be delivered): it stops and exits 0. */
  onFatal(): void;
}

type JobResult = { outputs: Record<string, unknown> } | { error: unknown };

/** Longest pause after a failed retrieve, or that a `Retry-After` on one is followed for. */
const MAX_RETRIEVE_PAUSE_MS = 5_000;
const MAX_RETRY_AFTER_MS = 60_000;
/** One attempt of a `running` update gives up on an answer after this long. */
const RUNNING_ATTEMPT_TIMEOUT_MS = 10_000;

/**
 * Queue mode (compat.md §3.5): claim a job by long poll, run it, report `done` or `failed`, repeat until
 * SIGTERM. The in-flight poll is let finish, and a job it brings is run, rather than dropped.
 *
 * One job at a time, as the vendor's worker: the next job is claimed only once the last one's `done` or
 * `failed` update has settled, which may take up to GANTRY_SPROCKET_STATUS_RETRY_SECONDS while the control
 * plane restarts or fails over, so the server never sees this worker claim while it holds an unreported job.
 * A bad job never stops the loop: anything that goes wrong with one job fails that job with the reason.
 */
export async function runQueueLoop(deps: QueueLoopDeps): Promise<void> {
  let idleSince = performance.now();
  let failures = 0;
  while (!deps.stopping()) {
    const claimed = await tryRetrieve(deps, (performance.now() - idleSince) / 1000);
    failures = 'error' in claimed ? failures + 1 : 0;
    if ('error' in claimed) await sleep(retrievePause(failures, claimed.error));
    else if (claimed.job === undefined) await sleep(Math.random() * 200);
    else {
      await runQueueJob(deps, claimed.job);
      idleSince = performance.now();
    }
  }
}

/** One long poll; a failure (transport, HTTP status, a body that names no job) is logged and retried, never fatal. */
async function tryRetrieve(deps: QueueLoopDeps, idleSeconds: number): Promise<{ job: ClaimedJob | undefined } | { error: unknown }> {
  try {
    return { job: await deps.api.retrieve(idleSeconds) };
  } catch (error) {
    deps.log.warn(`error retrieving a job: ${(error as Error).message}`);
    return { error };
  }
}

/** Backoff with jitter through an outage, or longer when the server asked for it (Retry-After). */
function retrievePause(failures: number, error: unknown): number {
  const asked = error instanceof HttpStatusError ? Math.min(error.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS) : 0;
  return Math.max(Math.min(MAX_RETRIEVE_PAUSE_MS, backoffMs(failures)), asked);
}

/** Runs one claimed job and reports it; never throws, whatever the job does. */
export async function runQueueJob(deps: QueueLoopDeps, job: ClaimedJob): Promise<void> {
  const id = job.request_id;
  let result: JobResult | undefined;
  try {
    result = job.undecodable !== undefined ? { error: new UndecodableJobError(job.undecodable) } : await runClaimed(deps, job);
  } catch (error) {
    result = { error }; // a fault around predict (reporter, bookkeeping): still this job's alone
  }
  if (result) await report(deps, id, result).catch((err: unknown) => deps.log.error(`reporting job ${id} failed`, err));
}

/** The job's outputs or error, with heartbeats while it runs; undefined when the server no longer holds it. */
async function runClaimed(deps: QueueLoopDeps, job: ClaimedJob): Promise<JobResult | undefined> {
  const id = job.request_id;
  const controller = new AbortController();
  const reporter = new JobReporter({
    send: (info, stopRetrying) => deps.api.postStatus(id, 'running', {}, info, { windowMs: deps.heartbeatMs, attemptTimeoutMs: RUNNING_ATTEMPT_TIMEOUT_MS, stopRetrying }),
    onGone: (refusal) => controller.abort(new JobCanceledError(`the server stopped job ${id}: ${refusal.message}`, refusal.code)),
    heartbeatMs: deps.heartbeatMs,
    infoIntervalMs: deps.infoIntervalMs,
    log: deps.log,
  });
  reporter.start();
  // A direct /generate may be running (it can start while the long poll is out): one job at a time.
  while (deps.pipeline.isBusy()) await sleep(20);
  setCurrentJob(reporter);
  const result = await handleJob(deps.pipeline, { requestId: id, payload: job.payload, mode: 'queue', controller, emitInfo: (i) => reporter.addInfo(i) })
    .then((outputs): JobResult => ({ outputs }), (error: unknown): JobResult => ({ error }))
    .finally(() => setCurrentJob(undefined));
  await reporter.stop();
  if (controller.signal.aborted && isJobCanceledError(controller.signal.reason)) {
    deps.log.warn(`Job ${id} stopped: ${(controller.signal.reason as Error).message}; not reporting it`);
    return undefined;
  }
  return result;
}

/** The terminal update: `done` with the outputs, else `failed` with `info.error`. */
async function report(deps: QueueLoopDeps, id: string, result: JobResult): Promise<void> {
  let error = 'error' in result ? result.error : undefined;
  if ('outputs' in result) {
    const outcome = await postDone(deps, id, result.outputs);
    if (outcome === 'ok') return deps.log.info(`Job ${id} finished`);
    if (outcome instanceof Error) error = outcome;
    else if (isRefusal(outcome)) return deps.log.warn(`Job ${id} is no longer this worker's (${outcome.code}); its outputs were dropped`);
    else if (outcome === 'failed') return giveUp(deps, id, 'done');
    // A done the server refuses (say, outputs over its size limit) fails the job instead of leaving it running.
    else error = new Error(`the server refused the done update: ${outcome.detail}`);
  }
  deps.log.error(`Job ${id} failed`, error);
  const outcome = await deps.api.postStatus(id, 'failed', {}, { error: errorText(error) });
  if (outcome === 'failed') return giveUp(deps, id, 'failed');
  if (isPredictTimeoutError(error)) deps.onFatal();
}

/** The done update, or the error that kept it from being sent (outputs that do not serialize). */
async function postDone(deps: QueueLoopDeps, id: string, outputs: Record<string, unknown>): Promise<UpdateOutcome | Error> {
  try {
    return await deps.api.postStatus(id, 'done', outputs);
  } catch (err) {
    return new TypeError(`the outputs could not be serialized as JSON: ${describeError(err)}`);
  }
}

/**
 * The terminal update could not be delivered in its window: the worker restarts, so its claim on the job
 * ends with this process and the server requeues the job (it is retried, `retries` + 1).
 */
function giveUp(deps: QueueLoopDeps, id: string, status: string): void {
  deps.log.error(
    `gave up on the "${status}" update for job ${id} after ${deps.statusRetryMs / 1000} s (GANTRY_SPROCKET_STATUS_RETRY_SECONDS): ` +
      'the job will be retried by the server; restarting this worker so that its claim on the job ends',
  );
  deps.onFatal();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

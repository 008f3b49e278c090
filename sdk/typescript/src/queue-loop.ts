import type { ClaimedJob, WorkerApi } from './api-client.js';
import { describeError, isJobCanceledError, isPredictTimeoutError, JobCanceledError } from './errors.js';
import { JobReporter } from './job-reporter.js';
import type { Logger } from './log.js';
import { handleJob, type PipelineDeps } from './pipeline.js';
import { setCurrentJob } from './progress.js';

export interface QueueLoopDeps {
  api: Pick<WorkerApi, 'retrieve' | 'postStatus'>;
  pipeline: PipelineDeps;
  heartbeatMs: number;
  infoIntervalMs: number;
  log: Logger;
  /** True once SIGTERM arrived: no further claims. */
  stopping(): boolean;
  /** A predict timed out: the worker must restart (it SIGTERMs itself, as the vendor's does). */
  onFatal(): void;
}

/** `info.error` is cut to this length, well inside the server's 4096-byte limit on `info`. */
const MAX_ERROR_CHARS = 2000;

/** Longest pause after a failed retrieve; failures back off from 0.5 s up to this. */
const MAX_ERROR_PAUSE_MS = 5_000;

/**
 * Queue mode (compat.md §3.5): claim a job by long poll, run it, report `done` or `failed`, repeat until
 * SIGTERM. The in-flight poll is let finish, and a job it brings is run, rather than dropped.
 */
export async function runQueueLoop(deps: QueueLoopDeps): Promise<void> {
  let idleSince = Date.now();
  let failures = 0;
  while (!deps.stopping()) {
    const claimed = await tryRetrieve(deps, (Date.now() - idleSince) / 1000);
    failures = claimed === 'error' ? failures + 1 : 0;
    if (claimed === 'error') await sleep(Math.min(MAX_ERROR_PAUSE_MS, 250 * 2 ** failures));
    else if (claimed === undefined) await sleep(Math.random() * 200);
    else {
      await runQueueJob(deps, claimed);
      idleSince = Date.now();
    }
  }
}

/** One long poll; a failure (transport, HTTP status, malformed body) is logged and retried, never fatal. */
async function tryRetrieve(deps: QueueLoopDeps, idleSeconds: number): Promise<ClaimedJob | undefined | 'error'> {
  try {
    return await deps.api.retrieve(idleSeconds);
  } catch (err) {
    deps.log.warn(`error retrieving a job: ${(err as Error).message}`);
    return 'error';
  }
}

/** Runs one claimed job with heartbeats; reports it unless the server said it is no longer this worker's. */
export async function runQueueJob(deps: QueueLoopDeps, job: ClaimedJob): Promise<void> {
  const id = job.request_id;
  const controller = new AbortController();
  const reporter = new JobReporter({
    send: (info) => deps.api.postStatus(id, 'running', {}, info),
    onGone: (refusal) => controller.abort(new JobCanceledError(`the server stopped job ${id}: ${refusal.message}`, refusal.code)),
    heartbeatMs: deps.heartbeatMs,
    infoIntervalMs: deps.infoIntervalMs,
  });
  reporter.start();
  // A direct /generate may be running (it can start while the long poll is out): one job at a time.
  while (deps.pipeline.isBusy()) await sleep(20);
  setCurrentJob(reporter);
  const result = await handleJob(deps.pipeline, { requestId: id, payload: job.payload, mode: 'queue', controller, emitInfo: (i) => reporter.addInfo(i) })
    .then((outputs) => ({ outputs }), (error: unknown) => ({ error }))
    .finally(() => setCurrentJob(undefined));
  await reporter.stop();
  await report(deps, id, controller.signal, result);
}

async function report(deps: QueueLoopDeps, id: string, signal: AbortSignal, result: { outputs: Record<string, unknown> } | { error: unknown }): Promise<void> {
  if (signal.aborted && isJobCanceledError(signal.reason)) {
    deps.log.warn(`Job ${id} stopped: ${(signal.reason as Error).message}; not reporting it`);
    return;
  }
  if ('outputs' in result) {
    if ((await deps.api.postStatus(id, 'done', result.outputs)) === 'ok') deps.log.info(`Job ${id} finished`);
    return;
  }
  deps.log.error(`Job ${id} failed`, result.error);
  await deps.api.postStatus(id, 'failed', {}, { error: describeError(result.error).slice(0, MAX_ERROR_CHARS) });
  if (isPredictTimeoutError(result.error)) deps.onFatal();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

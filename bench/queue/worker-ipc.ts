/**
 * The small protocol between the benchmark (parent) and its worker processes, over Node's IPC channel.
 * Any queue's worker process uses `createWorkerReporter()`; the parent side is worker-pool.ts.
 *
 * Timestamps are `process.hrtime.bigint()` values sent as strings. On Linux that is CLOCK_MONOTONIC,
 * which is one clock for every process on the machine, so a worker's "completed at" and the parent's
 * "submitted at" can be subtracted directly.
 *
 * Completions are counted in the worker and flushed every FLUSH_MS as one cumulative message with the
 * time of the last completion, so 20,000 jobs do not cost 20,000 IPC messages on a 2-core machine, and
 * the flush delay does not enter the measurement (the timestamp is taken when the job completes).
 */
import { once } from './cleanup.js';

/** Sent by a worker process to the parent. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; completed: number; lastAt: string }
  | { type: 'started'; seq: number; startedAt: string }
  | { type: 'fatal'; message: string };

/** Sent by the parent to a worker process. */
export type ParentMessage = { type: 'stop' };

/** What the benchmark's worker processes reads from the environment; set by the parent. */
export type WorkerMode = 'throughput' | 'latency';

const FLUSH_MS = 20;

export interface WorkerReporter {
  /** Tell the parent this worker is connected and waiting for jobs. */
  ready(): void;
  /** Count one job completion (its result recorded by the queue), timestamped now. */
  completed(): void;
  /** Latency mode: report when the handler began running the job with sequence number `seq`. */
  started(seq: number): void;
  /** Report a fatal error; the parent fails the run with this message. */
  fatal(err: unknown): void;
}

/**
 * The worker side of the protocol. `onStop` runs when the parent asks the worker to stop or goes away
 * (IPC disconnect), so an orphaned worker never outlives the benchmark.
 */
export function createWorkerReporter(onStop: () => Promise<void>): WorkerReporter {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this is a benchmark worker process: start it through bench/queue/index.ts');
  let completed = 0;
  let lastAt = 0n;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    send({ type: 'progress', completed, lastAt: String(lastAt) } satisfies WorkerMessage);
  };
  const stop = once(() => onStop().finally(() => process.exit(0)));
  process.on('message', (msg: ParentMessage) => void (msg.type === 'stop' && stop()));
  process.on('disconnect', () => void stop());
  return {
    ready: () => send({ type: 'ready' } satisfies WorkerMessage),
    completed: () => {
      completed++;
      lastAt = process.hrtime.bigint();
      timer ??= setTimeout(flush, FLUSH_MS);
    },
    started: (seq) => send({ type: 'started', seq, startedAt: String(process.hrtime.bigint()) } satisfies WorkerMessage),
    fatal: (err) => send({ type: 'fatal', message: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies WorkerMessage),
  };
}

/** Reads a required variable from the worker's environment (set by the parent). */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: start this worker through bench/queue/index.ts`);
  return value;
}

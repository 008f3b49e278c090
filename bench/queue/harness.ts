/**
 * The common measuring code for every queue in `npm run bench:queue`, so Gantry, graphile-worker and
 * BullMQ are timed the same way:
 *
 *   throughput  Workers are started and ready first (not timed), a short warm-up pass runs (not timed),
 *               then the clock starts at the first submit and stops at the last completion. Submits run
 *               concurrently with the workers, `submitConcurrency` at a time, one job per call (as
 *               clients submit over HTTP), never in bulk.
 *               Where a queue's "completed" signal comes before the completion is stored (graphile-worker),
 *               the clock stops when a check finds every completion stored; that check starts up to
 *               one report interval (20 ms) after the last completion, which is charged to that queue.
 *   latency     One idle worker; each sample submits one job after an idle gap and measures submit call
 *               → the handler starting, on the machine-wide monotonic clock (see worker-ipc.ts).
 */
import type { Cleanup } from './cleanup.js';
import type { WorkerPool } from './worker-pool.js';

/** Bytes of every job's payload, as JSON (1 KiB). */
export const PAYLOAD_BYTES = 1024;

/** What every queue's jobs carry: a sequence number and padding up to PAYLOAD_BYTES of JSON. */
export interface BenchPayload {
  seq: number;
  pad: string;
}

/** The run's knobs, shared by every workload (including Gantry's). */
export interface BenchOptions {
  /** Timed jobs per throughput run (default: 20000, env BENCH_JOBS). */
  jobs: number;
  /** Worker processes per throughput run (default: 16, env BENCH_WORKERS). */
  workers: number;
  /** Submits in flight at once (default: 16, env BENCH_SUBMIT_CONCURRENCY). */
  submitConcurrency: number;
  /** Untimed jobs run first through the same workers (default: 5 % of jobs, at most 1000). */
  warmupJobs: number;
  /** Samples for add → start latency (default: 300, env BENCH_LATENCY_SAMPLES). */
  latencySamples: number;
  /** Pause before each latency sample so the worker is idle, waiting (default: 20 ms). */
  idleGapMs: number;
  /** Limit for one run's completions (default: 150000 ms, env BENCH_TIMEOUT_S). */
  timeoutMs: number;
  /** Where workloads register their processes and connections to be stopped on exit or interrupt. */
  cleanup: Cleanup;
  /** Progress lines (to stderr). */
  log: (line: string) => void;
}

export interface ThroughputHandles {
  /** Submits one job and resolves when the queue has acknowledged it. */
  submit(payload: BenchPayload): Promise<void>;
  /** The worker processes, already ready. */
  workers: Pick<WorkerPool, 'completed' | 'waitForCompleted'>;
  /**
   * For queues whose "completed" signal fires before the completion is recorded: resolves with the
   * monotonic time (ns) at which a check that found every completion recorded began.
   */
  settled?(timeoutMs: number): Promise<bigint>;
  /** Stops workers and connections; safe to call twice. */
  stop(): Promise<void>;
}

export interface ThroughputResult {
  name: string;
  jobs: number;
  workers: number;
  submitConcurrency: number;
  /** First submit → last completion. */
  seconds: number;
  jobsPerSecond: number;
  /** First submit → last submit acknowledged. */
  submitSeconds: number;
}

export interface ThroughputRun extends Pick<BenchOptions, 'jobs' | 'workers' | 'submitConcurrency' | 'warmupJobs' | 'timeoutMs'> {
  name: string;
  /** Starts the workers (ready) and the producer side; not timed. */
  start: () => Promise<ThroughputHandles>;
}

/** Builds a payload whose JSON is exactly PAYLOAD_BYTES long. */
export function makePayload(seq: number): BenchPayload {
  const overhead = JSON.stringify({ seq, pad: '' }).length;
  return { seq, pad: 'x'.repeat(PAYLOAD_BYTES - overhead) };
}

/** Times `jobs` jobs from first submit to last completion (see the file comment); always stops the handles. */
export async function runThroughput(run: ThroughputRun): Promise<ThroughputResult> {
  const handles = await run.start();
  try {
    await pass(handles, 0, run.warmupJobs, run);
    const target = handles.workers.completed + run.jobs;
    const startedAt = process.hrtime.bigint();
    const submitted = submitAll(run.warmupJobs, run.jobs, run.submitConcurrency, handles.submit);
    const [submitEnd, lastCompletion] = await Promise.all([
      submitted.then(() => process.hrtime.bigint()),
      handles.workers.waitForCompleted(target, run.timeoutMs),
    ]);
    const settledAt = handles.settled ? await handles.settled(run.timeoutMs) : 0n;
    const end = settledAt > lastCompletion ? settledAt : lastCompletion;
    const seconds = Number(end - startedAt) / 1e9;
    const { name, jobs, workers, submitConcurrency } = run;
    const submitSeconds = round(Number(submitEnd - startedAt) / 1e9, 3);
    const jobsPerSecond = Math.round(jobs / seconds);
    return { name, jobs, workers, submitConcurrency, seconds: round(seconds, 3), jobsPerSecond, submitSeconds };
  } finally {
    await handles.stop();
  }
}

/** An untimed pass of `jobs` jobs (warm-up), sequence numbers from `firstSeq`. */
async function pass(handles: ThroughputHandles, firstSeq: number, jobs: number, run: ThroughputRun): Promise<void> {
  if (jobs <= 0) return;
  const target = handles.workers.completed + jobs;
  await Promise.all([
    submitAll(firstSeq, jobs, run.submitConcurrency, handles.submit),
    handles.workers.waitForCompleted(target, run.timeoutMs),
  ]);
  if (handles.settled) await handles.settled(run.timeoutMs);
}

/** Submits `jobs` payloads with at most `concurrency` in flight; the first failure stops every lane. */
export async function submitAll(
  firstSeq: number,
  jobs: number,
  concurrency: number,
  submit: (p: BenchPayload) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < jobs) {
      const seq = firstSeq + next++;
      await submit(makePayload(seq)).catch((err: unknown) => {
        failed = true;
        throw err;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs) }, lane));
}

export interface LatencyHandles {
  /** Submits one job and resolves when the queue has acknowledged it. */
  add(payload: BenchPayload): Promise<void>;
  /** One idle worker process, started in latency mode. */
  workers: Pick<WorkerPool, 'waitForStart'>;
  stop(): Promise<void>;
}

export interface LatencyRun extends Pick<BenchOptions, 'latencySamples' | 'idleGapMs'> {
  name: string;
  start: () => Promise<LatencyHandles>;
}

export interface LatencyResult {
  name: string;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** Submit → handler start, one job at a time to an idle worker; 10 untimed samples first. */
export async function runLatency(run: LatencyRun): Promise<LatencyResult> {
  const handles = await run.start();
  try {
    const ms: number[] = [];
    for (let i = 0; i < run.latencySamples + 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, run.idleGapMs));
      const sentAt = process.hrtime.bigint();
      await handles.add(makePayload(i));
      const startedAt = await handles.workers.waitForStart(i, 10_000);
      if (i >= 10) ms.push(Number(startedAt - sentAt) / 1e6);
    }
    const { p50, p99 } = percentiles(ms, [50, 99]);
    const meanMs = ms.reduce((a, b) => a + b, 0) / ms.length;
    const maxMs = Math.max(...ms);
    return { name: run.name, samples: ms.length, p50Ms: round(p50, 2), p99Ms: round(p99, 2), meanMs: round(meanMs, 2), maxMs: round(maxMs, 2) };
  } finally {
    await handles.stop();
  }
}

/** Nearest-rank percentiles: `percentiles([...], [50, 99])` → `{ p50, p99 }`. NaN for no values. */
export function percentiles<P extends number>(values: number[], ps: P[]): Record<`p${P}`, number> {
  const sorted = [...values].sort((a, b) => a - b);
  const out = {} as Record<`p${P}`, number>;
  for (const p of ps) {
    const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
    out[`p${p}`] = sorted.length ? sorted[rank - 1]! : Number.NaN;
  }
  return out;
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** What Gantry's workloads (gantry.ts) hand back to index.ts; every field is optional. */
export interface GantryResults {
  /** End-to-end jobs/s over HTTPS, from runThroughput with name 'gantry'. */
  throughput?: ThroughputResult;
  /** Dispatch latency to an idle long-polling worker, from runLatency with name 'gantry'. */
  latency?: LatencyResult;
  /** The rest of issue 4's figures (route cost, 1M pending, ...), written as is under results.gantry. */
  extra?: Record<string, unknown>;
  /** Ratios of its own, e.g. { 'queue route / hello-world route': 1.4 }. */
  ratios?: Record<string, number>;
}

/**
 * BullMQ on the local Redis: the producer (Queue.add, one job per call) runs in the benchmark process;
 * workers are separate processes (bullmq-worker-process.ts), concurrency 1 each. Jobs are removed on
 * completion, as graphile-worker does, so Redis memory stays flat; everything else is BullMQ's default.
 */
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { once } from './cleanup.js';
import type { BenchOptions, BenchPayload, LatencyHandles, LatencyRun, ThroughputHandles, ThroughputRun } from './harness.js';
import type { RedisServer } from './services.js';
import { startWorkerPool } from './worker-pool.js';
import type { WorkerPool } from './worker-pool.js';
import type { WorkerMode } from './worker-ipc.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./bullmq-worker-process.ts', import.meta.url));
const LABEL = 'bullmq';

export function bullmqThroughput(redis: RedisServer, opts: BenchOptions): ThroughputRun {
  return { name: LABEL, ...opts, start: () => startThroughput(redis, opts) };
}

export function bullmqLatency(redis: RedisServer, opts: BenchOptions): LatencyRun {
  return { name: LABEL, ...opts, start: () => startLatency(redis, opts) };
}

async function startThroughput(redis: RedisServer, opts: BenchOptions): Promise<ThroughputHandles> {
  const { add, workers, stop } = await startSides(redis, opts, opts.workers, 'throughput');
  return { submit: add, workers, stop };
}

async function startLatency(redis: RedisServer, opts: BenchOptions): Promise<LatencyHandles> {
  return startSides(redis, opts, 1, 'latency');
}

/** The producer's Queue and the ready worker processes, on a queue name of their own. */
type Sides = LatencyHandles & { workers: WorkerPool };

async function startSides(redis: RedisServer, opts: BenchOptions, count: number, mode: WorkerMode): Promise<Sides> {
  const name = `bench-${mode}`;
  const queue = new Queue<BenchPayload>(name, {
    connection: { host: redis.host, port: redis.port },
    defaultJobOptions: { removeOnComplete: true, removeOnFail: 1000 },
  });
  let stopped = false;
  const closeQueue = once(async () => {
    stopped = true;
    await queue.close();
  });
  opts.cleanup.add(`${LABEL} producer`, closeQueue);
  await queue.waitUntilReady();
  const env = { BENCH_REDIS_PORT: String(redis.port), BENCH_QUEUE: name, BENCH_MODE: mode };
  const workers = await startWorkerPool({ label: LABEL, script: WORKER_SCRIPT, count, env });
  const stopWorkers = once(() => workers.stop());
  opts.cleanup.add(`${LABEL} workers`, stopWorkers);
  const stop = once(async () => {
    await stopWorkers();
    await closeQueue();
  });
  const add = async (payload: BenchPayload): Promise<void> => {
    if (stopped) throw new Error(`${LABEL}: stopped`);
    await queue.add('noop', payload);
  };
  return { add, workers, stop };
}

/**
 * One BullMQ worker process for the queue benchmark (started by bullmq.ts through worker-pool.ts):
 * concurrency 1, a processor that does nothing, each completion reported to the parent. BullMQ emits
 * 'completed' after the job has been moved to completed in Redis.
 *
 * Env: BENCH_REDIS_PORT (on 127.0.0.1), BENCH_QUEUE (queue name), BENCH_MODE (throughput | latency).
 */
import { Worker } from 'bullmq';
import type { BenchPayload } from './harness.js';
import { createWorkerReporter, requireEnv } from './worker-ipc.js';

const port = Number(requireEnv('BENCH_REDIS_PORT'));
const queueName = requireEnv('BENCH_QUEUE');
const latencyMode = requireEnv('BENCH_MODE') === 'latency';

let worker: Worker<BenchPayload> | undefined;
const reporter = createWorkerReporter(async () => {
  await worker?.close();
});

try {
  worker = new Worker<BenchPayload>(
    queueName,
    async (job) => {
      if (latencyMode) reporter.started(job.data.seq);
    },
    // maxRetriesPerRequest: null is what BullMQ requires of a worker's connection.
    { connection: { host: '127.0.0.1', port, maxRetriesPerRequest: null }, concurrency: 1 },
  );
  worker.on('completed', () => reporter.completed());
  worker.on('failed', (_job, err) => reporter.fatal(err));
  worker.on('error', (err) => reporter.fatal(err));
  await worker.waitUntilReady();
  reporter.ready();
} catch (err) {
  reporter.fatal(err);
}

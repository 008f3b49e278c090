/**
 * One graphile-worker worker process for the queue benchmark (started by graphile.ts through
 * worker-pool.ts): concurrency 1, a `noop` task that does nothing, each completion reported to the parent.
 *
 * Env: BENCH_PG_URL (PostgreSQL), BENCH_MODE (throughput | latency).
 */
import { run } from 'graphile-worker';
import type { Runner, Task } from 'graphile-worker';
import { quietGraphileLogger } from './graphile-logger.js';
import type { BenchPayload } from './harness.js';
import { createWorkerReporter, requireEnv } from './worker-ipc.js';

const connectionString = requireEnv('BENCH_PG_URL');
const latencyMode = requireEnv('BENCH_MODE') === 'latency';

let runner: Runner | undefined;
const reporter = createWorkerReporter(async () => {
  await runner?.stop();
});

const noop: Task = async (payload) => {
  if (latencyMode) reporter.started((payload as BenchPayload).seq);
};

try {
  runner = await run({
    connectionString,
    concurrency: 1,
    noHandleSignals: true,
    logger: quietGraphileLogger,
    taskList: { noop },
  });
  // 'job:complete' fires once the task has finished; graphile-worker sends the completing UPDATE without
  // waiting for it, so the parent also checks the jobs table is empty before it stops the clock.
  runner.events.on('job:complete', ({ error }) => (error ? reporter.fatal(error) : reporter.completed()));
  runner.promise.catch((err: unknown) => reporter.fatal(err));
  reporter.ready();
} catch (err) {
  reporter.fatal(err);
}

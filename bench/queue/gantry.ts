/**
 * Gantry's side of `npm run bench:queue`: end-to-end jobs/s over HTTPS with 16 worker processes, dispatch
 * latency to an idle long-polling worker, and the rest of issue 4 §6. It receives the same options as
 * the graphile-worker and BullMQ workloads (use runThroughput/runLatency from harness.ts, and
 * startWorkerPool plus worker-ipc.ts for the worker processes) so the figures compare.
 *
 * Placeholder until the queue exists: index.ts reports "gantry: skipped" on exactly this error.
 */
import type { BenchOptions, GantryResults } from './harness.js';

export async function gantryWorkloads(_opts: BenchOptions): Promise<GantryResults> {
  throw new Error('not yet: needs the queue (issue 4)');
}

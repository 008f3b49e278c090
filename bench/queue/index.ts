/**
 * `npm run bench:queue`: Gantry's queue next to graphile-worker (local PostgreSQL) and BullMQ (local
 * Redis), same workload, same machine, same run (issue 4 §6). Installs and starts the two servers itself
 * (services.ts), prints tables, and writes bench/results/queue.json.
 *
 *   BENCH_JOBS=20000 BENCH_WORKERS=16 npm run bench:queue
 *
 * Env (read here only): BENCH_JOBS (default 20000), BENCH_WORKERS (16), BENCH_SUBMIT_CONCURRENCY (16),
 * BENCH_WARMUP_JOBS (5 % of jobs, at most 1000), BENCH_LATENCY_SAMPLES (300), BENCH_TIMEOUT_S (150).
 */
import { bullmqLatency, bullmqThroughput } from './bullmq.js';
import { cleanUpOnExit, createCleanup } from './cleanup.js';
import type { Cleanup } from './cleanup.js';
// ---- Gantry's workload plugs in here: gantry.ts is replaced once the queue exists (issue 4). ----
import { gantryWorkloads } from './gantry.js';
import { graphileLatency, graphileThroughput, prepareGraphile } from './graphile.js';
import { PAYLOAD_BYTES, runLatency, runThroughput } from './harness.js';
import type { BenchOptions, GantryResults, LatencyResult, ThroughputResult } from './harness.js';
import { machine, printLatency, printRatios, printThroughput, throughputRatios, writeReport } from './report.js';
import type { QueueReport } from './report.js';
import { startServices } from './services.js';
import type { Services } from './services.js';

/** The exact message of gantry.ts's placeholder; any other error from Gantry's workload fails the run. */
const GANTRY_NOT_BUILT = 'not yet: needs the queue (issue 4)';

const log = (line: string): void => console.error(`[bench:queue] ${line}`);

interface Compared {
  throughput: ThroughputResult[];
  latency: LatencyResult[];
  services: QueueReport['services'];
}

/** Every knob, from the environment, validated (positive integers) with the variable's name in errors. */
function readOptions(cleanup: Cleanup): BenchOptions {
  const int = (name: string, fallback: number): number => {
    const raw = process.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
    return value;
  };
  const jobs = int('BENCH_JOBS', 20_000);
  const workers = int('BENCH_WORKERS', 16);
  if (jobs < 1 || workers < 1) throw new Error('BENCH_JOBS and BENCH_WORKERS must be at least 1');
  return {
    jobs,
    workers,
    submitConcurrency: Math.max(1, int('BENCH_SUBMIT_CONCURRENCY', 16)),
    warmupJobs: int('BENCH_WARMUP_JOBS', Math.min(1000, Math.round(jobs * 0.05))),
    latencySamples: Math.max(1, int('BENCH_LATENCY_SAMPLES', 300)),
    idleGapMs: 20,
    timeoutMs: Math.max(1, int('BENCH_TIMEOUT_S', 150)) * 1000,
    cleanup,
    log,
  };
}

/** graphile-worker and BullMQ, one after the other, on freshly started servers. */
async function runComparisons(opts: BenchOptions, services: Services): Promise<Compared> {
  const settings = {
    postgres: await prepareGraphile(services.postgres.url),
    redis: await services.redis.config(['appendonly', 'appendfsync', 'save', 'maxmemory-policy']),
  };
  log(`graphile-worker: ${opts.jobs} jobs, ${opts.workers} worker processes`);
  const graphile = await runThroughput(graphileThroughput(services.postgres.url, opts));
  log(`graphile-worker: add → start latency, ${opts.latencySamples} samples`);
  const graphileLat = await runLatency(graphileLatency(services.postgres.url, opts));
  log(`bullmq: ${opts.jobs} jobs, ${opts.workers} worker processes`);
  const bullmq = await runThroughput(bullmqThroughput(services.redis, opts));
  log(`bullmq: add → start latency, ${opts.latencySamples} samples`);
  const bullmqLat = await runLatency(bullmqLatency(services.redis, opts));
  return { throughput: [graphile, bullmq], latency: [graphileLat, bullmqLat], services: settings };
}

/** Gantry's workloads, or undefined (with a line saying so) while gantry.ts is the placeholder. */
async function runGantry(opts: BenchOptions): Promise<GantryResults | undefined> {
  try {
    return await gantryWorkloads(opts);
  } catch (err) {
    if (err instanceof Error && err.message === GANTRY_NOT_BUILT) {
      console.log('gantry: skipped (queue not built yet)');
      return undefined;
    }
    throw err;
  }
}

function buildReport(opts: BenchOptions, host: QueueReport['machine'], compared: Compared, gantry: GantryResults | undefined): QueueReport {
  const throughput = [...(gantry?.throughput ? [gantry.throughput] : []), ...compared.throughput];
  const latency = [...(gantry?.latency ? [gantry.latency] : []), ...compared.latency];
  const byName = <T extends { name: string }>(rows: T[]): Record<string, T> => Object.fromEntries(rows.map((r) => [r.name, r]));
  const { jobs, workers, submitConcurrency, warmupJobs, latencySamples, idleGapMs } = opts;
  return {
    date: new Date().toISOString(),
    node: process.version,
    machine: host,
    options: { jobs, workers, submitConcurrency, warmupJobs, latencySamples, idleGapMs, payloadBytes: PAYLOAD_BYTES },
    services: compared.services,
    results: {
      throughput: byName(throughput),
      latency: byName(latency),
      gantry: gantry ? (gantry.extra ?? {}) : 'skipped (queue not built yet)',
    },
    ratios: { ...throughputRatios(byName(throughput)), ...gantry?.ratios },
    notes: [
      'durability differs: PostgreSQL fsyncs every commit; Redis appendfsync everysec can lose about 1 s of acknowledged writes on a crash',
      'latency: submit call start → handler start in one idle worker process, machine-wide monotonic clock',
    ],
  };
}

async function main(): Promise<void> {
  const cleanup = createCleanup();
  const removeExitHandlers = cleanUpOnExit(cleanup);
  try {
    const opts = readOptions(cleanup);
    const host = machine();
    const services = await startServices(log, cleanup);
    const compared = await runComparisons(opts, services);
    await services.stop();
    const gantry = await runGantry(opts);
    const report = buildReport(opts, host, compared, gantry);
    printThroughput(Object.values(report.results.throughput));
    printLatency(Object.values(report.results.latency));
    printRatios(report.ratios);
    console.log(`\nwritten to ${writeReport(report)}`);
  } finally {
    await cleanup.runAll();
    removeExitHandlers();
  }
}

try {
  await main();
} catch (err) {
  console.error(`bench:queue failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
}

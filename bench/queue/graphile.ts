/**
 * graphile-worker on the local PostgreSQL: the producer (WorkerUtils.addJob, one job per call) runs in
 * the benchmark process; workers are separate processes (graphile-worker-process.ts), concurrency 1 each.
 * Options are graphile-worker's defaults apart from a quiet logger: no local queue, no batched
 * completion, LISTEN/NOTIFY for new jobs.
 */
import { fileURLToPath } from 'node:url';
import { makeWorkerUtils } from 'graphile-worker';
import pg from 'pg';
import type { WorkerUtils } from 'graphile-worker';
import { once } from './cleanup.js';
import { quietGraphileLogger } from './graphile-logger.js';
import type { BenchOptions, BenchPayload, LatencyHandles, LatencyRun, ThroughputHandles, ThroughputRun } from './harness.js';
import { waitUntil } from './system.js';
import { startWorkerPool } from './worker-pool.js';
import type { WorkerPool } from './worker-pool.js';
import type { WorkerMode } from './worker-ipc.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./graphile-worker-process.ts', import.meta.url));
const LABEL = 'graphile-worker';
const COUNT_JOBS = 'select count(*)::int as n from graphile_worker._private_jobs';

/** Installs graphile-worker's schema once (so 16 workers do not race to) and reads the durability settings. */
export async function prepareGraphile(url: string): Promise<Record<string, string>> {
  const utils = await makeWorkerUtils({ connectionString: url, logger: quietGraphileLogger });
  try {
    await utils.migrate();
    return await utils.withPgClient(async (client) => {
      const settings: Record<string, string> = {};
      for (const name of ['server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method']) {
        const { rows } = await client.query<Record<string, string>>(`show ${name}`);
        settings[name] = rows[0]?.[name] ?? '?';
      }
      return settings;
    });
  } finally {
    await utils.release();
  }
}

export function graphileThroughput(url: string, opts: BenchOptions): ThroughputRun {
  return { name: LABEL, ...opts, start: () => startThroughput(url, opts) };
}

export function graphileLatency(url: string, opts: BenchOptions): LatencyRun {
  return { name: LABEL, ...opts, start: () => startLatency(url, opts) };
}

interface Sides extends LatencyHandles {
  utils: WorkerUtils;
  workers: WorkerPool;
}

async function startThroughput(url: string, opts: BenchOptions): Promise<ThroughputHandles> {
  const { add, utils, workers, stop } = await startSides(url, opts, opts.workers, 'throughput');
  return { submit: add, workers, settled: (timeoutMs) => jobsTableEmpty(utils, timeoutMs), stop };
}

function startLatency(url: string, opts: BenchOptions): Promise<LatencyHandles> {
  return startSides(url, opts, 1, 'latency');
}

/**
 * The producer's connection pool (one connection per submit lane) and the ready worker processes. We own
 * the pool rather than let WorkerUtils make one: WorkerUtils.release() removes its error listener and
 * does not wait for pool.end(), so a server shutting down during an interrupted run would crash us with
 * an unhandled 'error' from an idle client.
 */
async function startSides(url: string, opts: BenchOptions, count: number, mode: WorkerMode): Promise<Sides> {
  const env = { BENCH_PG_URL: url, BENCH_MODE: mode };
  const pool = new pg.Pool({ connectionString: url, max: opts.submitConcurrency });
  // Idle clients are told when the server goes away: expected at the end, and graphile-worker wants both.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const utils = await makeWorkerUtils({ pgPool: pool, logger: quietGraphileLogger });
  let stopped = false;
  const closeProducer = once(async () => {
    stopped = true;
    await utils.release();
    await pool.end();
  });
  opts.cleanup.add(`${LABEL} producer`, closeProducer);
  const workers = await startWorkerPool({ label: LABEL, script: WORKER_SCRIPT, count, env });
  const stopWorkers = once(() => workers.stop());
  opts.cleanup.add(`${LABEL} workers`, stopWorkers);
  const add = async (payload: BenchPayload): Promise<void> => {
    if (stopped) throw new Error(`${LABEL}: stopped`);
    await utils.addJob('noop', payload);
  };
  const stop = once(async () => {
    await stopWorkers();
    await closeProducer();
  });
  return { add, utils, workers, stop };
}

/**
 * graphile-worker deletes a job when it completes, and its worker sends that DELETE without waiting, so
 * "every completion recorded" means the jobs table is empty. Returns when the successful check began.
 */
async function jobsTableEmpty(utils: WorkerUtils, timeoutMs: number): Promise<bigint> {
  let checkedAt = 0n;
  let remaining = -1;
  await waitUntil(
    'graphile-worker to record every completion',
    async () => {
      checkedAt = process.hrtime.bigint();
      const { rows } = await utils.withPgClient((client) => client.query<{ n: number }>(COUNT_JOBS));
      remaining = rows[0]?.n ?? -1;
      return remaining === 0;
    },
    { timeoutMs, intervalMs: 2, detail: () => `${remaining} jobs still in graphile_worker._private_jobs` },
  );
  return checkedAt;
}

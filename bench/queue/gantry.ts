/**
 * Gantry's side of `npm run bench:queue` (issue 4 §6), measured the same way as graphile-worker and
 * BullMQ (harness.ts): end-to-end jobs/s over HTTPS with worker processes speaking the Sprocket
 * protocol, dispatch latency to an idle long-polling worker, and the cost of a queue route next to a
 * hello-world route on the same server. The 1M-pending figures come from `npm run bench:queue:pending`.
 */
import path from 'node:path';
import type { Cleanup } from './cleanup.js';
import { startGantryServer, type GantryServer } from './gantry-server.js';
import {
  makePayload,
  percentiles,
  round,
  runLatency,
  runThroughput,
  type BenchOptions,
  type BenchPayload,
  type GantryResults,
} from './harness.js';
import { REPO_ROOT } from './system.js';
import { startWorkerPool, type WorkerPool } from './worker-pool.js';

const WORKER = path.join(REPO_ROOT, 'bench/queue/gantry-worker-process.ts');

export async function gantryWorkloads(opts: BenchOptions): Promise<GantryResults> {
  const server = await startGantryServer(opts.cleanup, opts.log);
  try {
    const routeCost = await measureRouteCost(server, opts);
    const throughput = await runThroughput({
      name: 'gantry',
      ...opts,
      start: async () => handles(server, await workers(server, opts.workers, 'throughput', opts.cleanup)),
    });
    const latency = await runLatency({
      name: 'gantry',
      ...opts,
      start: async () => {
        const pool = await workers(server, 1, 'latency', opts.cleanup);
        return { add: (p: BenchPayload) => submit(server, p), workers: pool, stop: () => pool.stop() };
      },
    });
    return {
      throughput,
      latency,
      extra: { routeCost },
      ratios: { 'queue submit route / hello-world route (time per request)': routeCost.submitVsHello },
    };
  } finally {
    await server.stop();
  }
}

async function submit(server: GantryServer, payload: BenchPayload): Promise<void> {
  const res = await server.request('POST', '/v1/queue/submit', { model: server.model, payload });
  if (res.status !== 200) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.json)}`);
}

function handles(server: GantryServer, pool: WorkerPool) {
  return { submit: (p: BenchPayload) => submit(server, p), workers: pool, stop: () => pool.stop() };
}

function workers(server: GantryServer, count: number, mode: 'throughput' | 'latency', cleanup: Cleanup): Promise<WorkerPool> {
  return startWorkerPool({
    label: 'gantry',
    script: WORKER,
    count,
    env: {
      BENCH_GANTRY_URL: server.url,
      BENCH_GANTRY_KEY: server.key,
      BENCH_GANTRY_CA: server.caFile,
      BENCH_QUEUE: server.model,
      BENCH_MODE: mode,
      BENCH_WORKER_NAME: `bench-${mode}-${process.pid}`,
    },
  }).then((pool) => {
    cleanup.add(`gantry ${mode} workers`, () => pool.stop());
    return pool;
  });
}

/**
 * Requests per second of `GET /health` (a plain route: no auth, no body) and of `POST /v1/queue/submit`
 * (auth, validation, deployment lookup, a durable write) on the same server, same connections and
 * concurrency. The ratio is the cost of the queue route relative to the hello-world route.
 */
async function measureRouteCost(server: GantryServer, opts: BenchOptions) {
  const n = Math.max(2000, Math.min(opts.jobs, 10_000));
  const hello = await rate(n, opts.submitConcurrency, () => server.request('GET', '/health'));
  let seq = 1_000_000;
  const queue = await rate(n, opts.submitConcurrency, () => submit(server, makePayload(seq++)));
  const cleared = await server.request('POST', '/v1/queue/clear', { model: server.model });
  opts.log(`gantry: route cost measured (${JSON.stringify(cleared.json)} cleared afterwards)`);
  return {
    requests: n,
    concurrency: opts.submitConcurrency,
    helloPerSecond: hello.perSecond,
    submitPerSecond: queue.perSecond,
    helloP99Ms: hello.p99Ms,
    submitP99Ms: queue.p99Ms,
    submitVsHello: round(hello.perSecond / queue.perSecond, 2),
  };
}

async function rate(n: number, concurrency: number, call: () => Promise<unknown>) {
  const ms: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  const lane = async () => {
    while (next++ < n) {
      const t = process.hrtime.bigint();
      await call();
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: round(n / seconds, 0), p99Ms: round(percentiles(ms, [99]).p99, 2) };
}

/**
 * One Gantry worker process for the queue benchmark: it speaks the worker protocol exactly as the
 * Sprocket SDK does (long-poll retrieve with `timeout=5s`, then a `done` status update), over HTTPS with
 * keep-alive, one job at a time. A completion counts once the server answered the `done` with 200, i.e.
 * once the outcome is durable.
 *
 * Env: BENCH_GANTRY_URL, BENCH_GANTRY_KEY, BENCH_GANTRY_CA (CA file), BENCH_QUEUE (the model),
 * BENCH_MODE (throughput | latency), BENCH_WORKER_NAME (hostname sent with each poll).
 */
import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import type { BenchPayload } from './harness.js';
import { createWorkerReporter, requireEnv } from './worker-ipc.js';

const base = requireEnv('BENCH_GANTRY_URL');
const model = requireEnv('BENCH_QUEUE');
const latencyMode = requireEnv('BENCH_MODE') === 'latency';
const hostname = requireEnv('BENCH_WORKER_NAME');
const headers = { authorization: `Bearer ${requireEnv('BENCH_GANTRY_KEY')}`, 'content-type': 'application/json' };
const dispatcher = new Agent({ connect: { ca: readFileSync(requireEnv('BENCH_GANTRY_CA'), 'utf8') }, connections: 2 });

let running = true;
const reporter = createWorkerReporter(async () => {
  running = false;
});

async function claim(): Promise<{ request_id: string; payload: BenchPayload } | null> {
  const url = `${base}/internal/v1/queue/retrieve?model=${model}&timeout=5s&hostname=${hostname}`;
  const res = await fetch(url, { headers, dispatcher });
  const body = (await res.json()) as { data: { request_id: string; payload: BenchPayload } | null };
  if (res.status !== 200) throw new Error(`retrieve answered ${res.status}: ${JSON.stringify(body)}`);
  return body.data;
}

async function complete(requestId: string): Promise<void> {
  const res = await fetch(`${base}/internal/v1/videos/status`, {
    method: 'POST',
    headers,
    dispatcher,
    body: JSON.stringify({ model, request_id: requestId, status: 'done', payload: { ok: true } }),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status update answered ${res.status}`);
}

async function loop(): Promise<void> {
  reporter.ready();
  while (running) {
    const job = await claim();
    if (!job) continue;
    if (latencyMode) reporter.started(job.payload.seq);
    await complete(job.request_id);
    reporter.completed();
  }
}

loop().catch((err: unknown) => reporter.fatal(err));

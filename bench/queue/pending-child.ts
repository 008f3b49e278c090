/**
 * The child process of `bench/queue/pending.ts` (issue 4 §6, "1,000,000 pending jobs"): one per phase, so
 * each reports the RSS of a process that did nothing else. Started by pending.ts with an IPC channel:
 *
 *   node --expose-gc --import tsx bench/queue/pending-child.ts submit  <dir> <jobs> <deploymentId> <lookups> <concurrency>
 *   node --expose-gc --import tsx bench/queue/pending-child.ts rebuild <dir> <jobs> <deploymentId>
 *   node --expose-gc --import tsx bench/queue/pending-child.ts profile <dir> <jobs> <deploymentId>
 *
 * It sends `{ type: 'log', line }` messages while it runs, then one `{ type: 'result', result }` or
 * `{ type: 'error', message }`, and exits. `<dir>` holds the store (state.db) and the blobs (files/),
 * wired as src/deps.ts wires them, with a silent logger and the system clock.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DirectoryBlobStore } from '../../src/blobs/directory/directory-blob-store.js';
import { JobStore } from '../../src/queue/job-store.js';
import { PriorityQueue } from '../../src/queue/priority-queue.js';
import { JobQueue } from '../../src/queue/queue.js';
import type { JobRecord } from '../../src/queue/types.js';
import { WriteBatcher } from '../../src/queue/write-batcher.js';
import { systemClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/logger.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-store.js';
import { percentiles, round, submitAll } from './harness.js';

/** Memory of this process, in MiB. `peakRssMiB` is the kernel's high-water mark (VmHWM), Linux only. */
export interface MemorySample {
  rssMiB: number;
  heapUsedMiB: number;
  peakRssMiB: number | null;
}

export interface SubmitPhase {
  seconds: number;
  jobsPerSecond: number;
  /** Right after the last submit was acknowledged. */
  memory: MemorySample;
  /** After a full `global.gc()` (null when the child ran without --expose-gc). */
  memoryAfterGc: MemorySample | null;
  lookup: { samples: number; meanUs: number; p50Us: number; p99Us: number; maxUs: number };
  /** Sizes of state.db and its WAL when the last submit was acknowledged. */
  disk: { dbBytes: number; walBytes: number };
}

export interface RebuildPhase {
  /** `new SqliteStateStore(file)` (opening the database). */
  openSeconds: number;
  /** `new JobQueue(...).start()`: the rebuild. */
  startSeconds: number;
  metrics: { messages_waiting: number; messages_running: number; total_jobs: number };
  memory: MemorySample;
  memoryAfterGc: MemorySample | null;
}

/** The phases of `start()` timed one by one over the same store (only when asked, or a target is missed). */
export interface ProfilePhase {
  /** `state.list` pages only (SQLite read + KvEntry objects). */
  listSeconds: number;
  /** Listing plus `JSON.parse` of every value (what `JobStore.scan` does). */
  listParseSeconds: number;
  /** Pushing `jobs` entries into a PriorityQueue (what `restore` does per pending job). */
  heapPushSeconds: number;
  records: number;
  valueBytes: number;
}

export type ChildMessage =
  | { type: 'log'; line: string }
  | { type: 'result'; result: SubmitPhase | RebuildPhase | ProfilePhase }
  | { type: 'error'; message: string };

const PREFIX = 'queue/jobs/';

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      console.log(JSON.stringify(message));
      return resolve();
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

const log = (line: string): Promise<void> => send({ type: 'log', line });

const MiB = 2 ** 20;

function memory(): MemorySample {
  const { rss, heapUsed } = process.memoryUsage();
  return { rssMiB: round(rss / MiB, 1), heapUsedMiB: round(heapUsed / MiB, 1), peakRssMiB: peakRssMiB() };
}

/** VmHWM from /proc/self/status: the largest RSS this process has had. */
function peakRssMiB(): number | null {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? round(Number(match[1]) / 1024, 1) : null;
  } catch {
    return null;
  }
}

function memoryAfterGc(): MemorySample | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  gc();
  gc();
  return memory();
}

const seconds = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;

/** The queue as src/deps.ts builds it, over the store and blobs under `dir`. */
function openQueue(dir: string): { queue: JobQueue; state: SqliteStateStore; openSeconds: number } {
  const opened = process.hrtime.bigint();
  const state = new SqliteStateStore(path.join(dir, 'state.db'));
  const openSeconds = seconds(opened);
  const blobs = new DirectoryBlobStore(path.join(dir, 'files'));
  const queue = new JobQueue({
    store: new JobStore(state, blobs, new WriteBatcher(state)),
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    settings: {
      leaseSweepMs: 500,
      claimCeilingMs: 24 * 3_600_000,
      maxOutputBytes: 32 * 1024 * 1024,
      retentionMs: 168 * 3_600_000,
    },
  });
  return { queue, state, openSeconds };
}

function fileBytes(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Indexes `count` distinct submissions out of `jobs`, uniformly at random. */
function sampleIndexes(jobs: number, count: number): Set<number> {
  const picked = new Set<number>();
  while (picked.size < Math.min(count, jobs)) picked.add(Math.floor(Math.random() * jobs));
  return picked;
}

async function submitPhase(dir: string, jobs: number, deploymentId: string, lookups: number, concurrency: number): Promise<SubmitPhase> {
  const { queue, state } = openQueue(dir);
  await queue.start();
  const picked = sampleIndexes(jobs, lookups);
  const ids: string[] = [];
  let acked = 0;
  const started = process.hrtime.bigint();
  let lastLog = started;
  await submitAll(0, jobs, concurrency, async (payload) => {
    const record = await queue.submit({ deploymentId, model: 'bench/pending', payload: { ...payload }, info: {}, priority: 0, maxRetries: 3 });
    if (picked.has(payload.seq)) ids.push(record.request_id);
    if (++acked % 100_000 === 0) {
      const now = process.hrtime.bigint();
      const rate = Math.round(100_000 / (Number(now - lastLog) / 1e9));
      lastLog = now;
      void log(`submitted ${acked} (${rate} jobs/s, RSS ${memory().rssMiB} MiB)`);
    }
  });
  const submitSeconds = seconds(started);
  const afterSubmit = memory();
  const disk = { dbBytes: fileBytes(path.join(dir, 'state.db')), walBytes: fileBytes(path.join(dir, 'state.db-wal')) };
  const afterGc = memoryAfterGc();
  const metrics = queue.metrics(deploymentId);
  if (metrics.messages_waiting !== jobs) throw new Error(`after submit: ${metrics.messages_waiting} waiting, expected ${jobs}`);
  await log(`submit: ${jobs} jobs in ${round(submitSeconds, 1)} s; looking up ${ids.length} random ids`);

  shuffle(ids);
  const us: number[] = [];
  for (const id of ids) {
    const t = process.hrtime.bigint();
    const view = await queue.view(deploymentId, id);
    us.push(Number(process.hrtime.bigint() - t) / 1e3);
    if (view?.status !== 'pending') throw new Error(`status of ${id}: ${view?.status ?? 'not found'}`);
  }
  await queue.close();
  await state.close();
  const { p50, p99 } = percentiles(us, [50, 99]);
  return {
    seconds: round(submitSeconds, 2),
    jobsPerSecond: Math.round(jobs / submitSeconds),
    memory: afterSubmit,
    memoryAfterGc: afterGc,
    lookup: {
      samples: us.length,
      meanUs: round(us.reduce((a, b) => a + b, 0) / us.length, 1),
      p50Us: round(p50, 1),
      p99Us: round(p99, 1),
      maxUs: round(Math.max(...us), 1),
    },
    disk,
  };
}

async function rebuildPhase(dir: string, jobs: number, deploymentId: string): Promise<RebuildPhase> {
  const { queue, state, openSeconds } = openQueue(dir);
  const started = process.hrtime.bigint();
  await queue.start();
  const startSeconds = seconds(started);
  const metrics = queue.metrics(deploymentId);
  const afterStart = memory();
  const afterGc = memoryAfterGc();
  await queue.close();
  await state.close();
  if (metrics.messages_waiting !== jobs || metrics.messages_running !== 0) {
    throw new Error(`after rebuild: ${JSON.stringify(metrics)}, expected ${jobs} waiting and none running`);
  }
  return { openSeconds: round(openSeconds, 3), startSeconds: round(startSeconds, 2), metrics, memory: afterStart, memoryAfterGc: afterGc };
}

/** Times what `start()` does, one layer at a time, over the same store (the OS page cache is warm for all). */
async function profilePhase(dir: string, jobs: number, deploymentId: string): Promise<ProfilePhase> {
  const state = new SqliteStateStore(path.join(dir, 'state.db'));
  const scan = async (each: (value: string) => void): Promise<void> => {
    let after: string | undefined;
    for (;;) {
      const page = await state.list(PREFIX, { limit: 2000, ...(after ? { after } : {}) });
      if (page.length === 0) return;
      for (const e of page) each(e.value);
      after = page.at(-1)!.key;
    }
  };
  let records = 0;
  let valueBytes = 0;
  let t = process.hrtime.bigint();
  await scan((value) => {
    records++;
    valueBytes += value.length;
  });
  const listSeconds = seconds(t);
  t = process.hrtime.bigint();
  let pending = 0;
  await scan((value) => {
    const record = JSON.parse(value) as JobRecord;
    if (record.status === 'pending' && record.deployment_id === deploymentId) pending++;
  });
  const listParseSeconds = seconds(t);
  await state.close();
  if (pending !== jobs) throw new Error(`profile: ${pending} pending records, expected ${jobs}`);
  const ids = Array.from({ length: jobs }, (_, i) => String(i).padStart(36, '0'));
  const heap = new PriorityQueue();
  t = process.hrtime.bigint();
  for (let i = 0; i < jobs; i++) heap.push({ id: ids[i]!, priority: 0, seq: i + 1 });
  const heapPushSeconds = seconds(t);
  return { listSeconds: round(listSeconds, 2), listParseSeconds: round(listParseSeconds, 2), heapPushSeconds: round(heapPushSeconds, 2), records, valueBytes };
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

async function main(): Promise<void> {
  const [mode, dir, jobsArg, deploymentId, lookupsArg, concurrencyArg] = process.argv.slice(2);
  const jobs = Number(jobsArg);
  if (!dir || !deploymentId || !Number.isInteger(jobs) || jobs < 1) throw new Error(`usage: pending-child.ts submit|rebuild|profile <dir> <jobs> <deploymentId> …`);
  switch (mode) {
    case 'submit':
      return send({ type: 'result', result: await submitPhase(dir, jobs, deploymentId, Number(lookupsArg ?? 10_000), Number(concurrencyArg ?? 512)) });
    case 'rebuild':
      return send({ type: 'result', result: await rebuildPhase(dir, jobs, deploymentId) });
    case 'profile':
      return send({ type: 'result', result: await profilePhase(dir, jobs, deploymentId) });
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

// The parent going away (Ctrl-C, crash) ends this child too, so no orphan keeps writing to the temp dir.
let finished = false;
process.on('disconnect', () => {
  if (!finished) process.exit(1);
});

function finish(): void {
  finished = true;
  process.disconnect?.();
}

main().then(finish, async (err: unknown) => {
  await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
  finish();
});

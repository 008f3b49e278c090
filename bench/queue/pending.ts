/**
 * Issue 4 §6, "1,000,000 pending jobs in one deployment": submit time, RSS, status lookup time and restart
 * (rebuild) time of Gantry's real JobQueue (JobStore, group commit, SQLite StateStore, directory BlobStore,
 * wired as src/deps.ts wires them), with no worker, so every job stays pending.
 *
 *   1. a child process submits `jobs` jobs (1 KiB JSON payloads, one deployment, `concurrency` submits in
 *      flight so the group commit batches them), reports its RSS after the last acknowledgement (and after
 *      a forced GC), then times `queue.view` for `lookups` random ids, and closes the queue and the store;
 *   2. a second, fresh child opens the same files and times `new JobQueue(...).start()`, asserts that
 *      `metrics()` shows every job waiting, and reports its RSS;
 *   3. when a target is missed (or `profile` is set) a third child times the layers of `start()` one by one.
 *
 * Each phase runs in a process of its own so its RSS is that of a process that did nothing else; RSS
 * is `process.memoryUsage().rss` and the peak is the kernel's high-water mark (VmHWM). The rebuild
 * reads files the first child just wrote, so the OS page cache is warm: this is a process restart, not a
 * cold boot of the machine. Targets: 1M pending under 2 GiB RSS (the larger peak of the two children)
 * and rebuilt in under 30 s (`start()`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { prefixedId } from '../../src/shared/ids.js';
import { once, type Cleanup } from './cleanup.js';
import { PAYLOAD_BYTES, round } from './harness.js';
import type { ChildMessage, MemorySample, ProfilePhase, RebuildPhase, SubmitPhase } from './pending-child.js';
import { REPO_ROOT } from './system.js';

export const RSS_TARGET_MIB = 2048;
export const REBUILD_TARGET_SECONDS = 30;

export interface PendingOptions {
  jobs: number;
  log: (line: string) => void;
  /** Submits in flight at once (default: 512). */
  concurrency?: number;
  /** Random ids looked up with `queue.view` (default: 10000). */
  lookups?: number;
  /** Time the layers of `start()` even when every target is met (default: only on a miss). */
  profile?: boolean;
  /** Where the temporary store goes (default: the OS temp dir). */
  tmpRoot?: string;
  /** Registers the children and the temp dir to be removed on an interrupt (index.ts's and the CLI's). */
  cleanup?: Cleanup;
}

export interface PendingResult {
  jobs: number;
  payloadBytes: number;
  concurrency: number;
  deploymentId: string;
  submit: SubmitPhase;
  rebuild: RebuildPhase & {
    /** Spawning the second child → its result, including Node and tsx start-up and opening the store. */
    processSeconds: number;
  };
  /** The layers of `start()`, when profiled. */
  profile?: ProfilePhase;
  targets: {
    rss: { valueMiB: number; targetMiB: number; pass: boolean; measured: string };
    rebuild: { valueSeconds: number; targetSeconds: number; pass: boolean; measured: string };
  };
}

const CHILD = path.join(REPO_ROOT, 'bench/queue/pending-child.ts');

/**
 * Free space the run needs. A 1 KiB-payload job takes about 4.7 KB in state.db (its ~1.3 KB row overflows
 * the 4 KiB page of a WITHOUT ROWID table, so each row also takes an overflow page), so 6 KB per job:
 * 6 GB for 1M, never under 256 MiB.
 */
function bytesNeeded(jobs: number): number {
  return Math.max(256 * 2 ** 20, jobs * 6_000);
}

export async function runPendingBenchmark(opts: PendingOptions): Promise<PendingResult> {
  const concurrency = opts.concurrency ?? 512;
  const lookups = opts.lookups ?? 10_000;
  const root = opts.tmpRoot ?? tmpdir();
  await checkFreeSpace(root, bytesNeeded(opts.jobs));
  const dir = await mkdtemp(path.join(root, 'gantry-pending-'));
  const deploymentId = prefixedId('dep');
  const children = new Set<ChildProcess>();
  const stop = once(async () => {
    for (const child of children) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    opts.log(`pending: removed ${dir}`);
  });
  opts.cleanup?.add('pending benchmark: children and temp dir', stop);
  try {
    opts.log(`pending: submitting ${opts.jobs} jobs (${concurrency} in flight) into ${dir}`);
    const submit = (await runChild(['submit', dir, String(opts.jobs), deploymentId, String(lookups), String(concurrency)], opts.log, children)) as SubmitPhase;
    opts.log(`pending: rebuilding from the store in a fresh process`);
    const spawnedAt = process.hrtime.bigint();
    const rebuilt = (await runChild(['rebuild', dir, String(opts.jobs), deploymentId], opts.log, children)) as RebuildPhase;
    const processSeconds = round(Number(process.hrtime.bigint() - spawnedAt) / 1e9, 2);
    const targets = targetsOf(submit, rebuilt);
    const result: PendingResult = {
      jobs: opts.jobs,
      payloadBytes: PAYLOAD_BYTES,
      concurrency,
      deploymentId,
      submit,
      rebuild: { ...rebuilt, processSeconds },
      targets,
    };
    if (opts.profile || !targets.rss.pass || !targets.rebuild.pass) {
      opts.log('pending: timing the layers of start() (list, JSON.parse, heap pushes)');
      result.profile = (await runChild(['profile', dir, String(opts.jobs), deploymentId], opts.log, children)) as ProfilePhase;
    }
    return result;
  } finally {
    await stop();
  }
}

function targetsOf(submit: SubmitPhase, rebuilt: RebuildPhase): PendingResult['targets'] {
  const peak = (m: MemorySample) => m.peakRssMiB ?? m.rssMiB;
  const rssMiB = Math.max(peak(submit.memory), peak(rebuilt.memory));
  return {
    rss: {
      valueMiB: rssMiB,
      targetMiB: RSS_TARGET_MIB,
      pass: rssMiB < RSS_TARGET_MIB,
      measured: 'the larger peak RSS (VmHWM) of the submitting and the rebuilding process',
    },
    rebuild: {
      valueSeconds: rebuilt.startSeconds,
      targetSeconds: REBUILD_TARGET_SECONDS,
      pass: rebuilt.startSeconds < REBUILD_TARGET_SECONDS,
      measured: 'new JobQueue(...).start() in a fresh process over the same files',
    },
  };
}

async function checkFreeSpace(dir: string, needed: number): Promise<void> {
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free < needed) {
    const gb = (n: number) => `${round(n / 1e9, 1)} GB`;
    throw new Error(`pending benchmark: ${dir} has ${gb(free)} free; ${gb(needed)} are needed. Free some space or set TMPDIR to a roomier disk.`);
  }
}

/** Runs one phase in its own Node process (with --expose-gc) and resolves with its result. */
function runChild(args: string[], log: (line: string) => void, children: Set<ChildProcess>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(child);
    let result: unknown;
    let error: string | undefined;
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'log') log(`pending: ${message.line}`);
      else if (message.type === 'result') result = message.result;
      else error = message.message;
    });
    child.on('error', (err) => {
      children.delete(child);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (result !== undefined && code === 0) return resolve(result);
      reject(new Error(`pending-child ${args[0]} failed (${signal ?? `exit ${code}`})${error ? `: ${error}` : ''}`));
    });
  });
}

const mib = (m: MemorySample | null): string => (m ? `${m.rssMiB} MiB (heap ${m.heapUsedMiB})` : 'n/a');
const pass = (ok: boolean): string => (ok ? 'pass' : 'MISS');

/** The figures as a small table plus the targets, one line each. */
export function formatPending(r: PendingResult): string[] {
  const rows: Array<[string, string]> = [
    ['submit', `${r.submit.seconds} s, ${r.submit.jobsPerSecond} jobs/s (${r.concurrency} in flight, ${r.payloadBytes} B payloads)`],
    ['RSS after submit', mib(r.submit.memory)],
    ['RSS after submit + gc', mib(r.submit.memoryAfterGc)],
    ['peak RSS, submit process', `${r.submit.memory.peakRssMiB ?? 'n/a'} MiB`],
    ['status lookup (view)', `mean ${r.submit.lookup.meanUs} µs, p50 ${r.submit.lookup.p50Us} µs, p99 ${r.submit.lookup.p99Us} µs (${r.submit.lookup.samples} random ids)`],
    ['store on disk', `state.db ${round(r.submit.disk.dbBytes / 1e9, 2)} GB + WAL ${round(r.submit.disk.walBytes / 1e6, 1)} MB (${Math.round(r.submit.disk.dbBytes / r.jobs)} B per job)`],
    ['rebuild: start()', `${r.rebuild.startSeconds} s (open ${r.rebuild.openSeconds} s; process spawn → done ${r.rebuild.processSeconds} s)`],
    ['rebuild: metrics', `${r.rebuild.metrics.messages_waiting} waiting, ${r.rebuild.metrics.messages_running} running`],
    ['RSS after rebuild', mib(r.rebuild.memory)],
    ['RSS after rebuild + gc', mib(r.rebuild.memoryAfterGc)],
    ['peak RSS, rebuild process', `${r.rebuild.memory.peakRssMiB ?? 'n/a'} MiB`],
  ];
  if (r.profile) {
    const p = r.profile;
    rows.push(['start() layers', `list ${p.listSeconds} s; list + JSON.parse ${p.listParseSeconds} s; ${r.jobs} heap pushes ${p.heapPushSeconds} s (${round(p.valueBytes / 1e9, 2)} GB of JSON)`]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const { rss, rebuild } = r.targets;
  const count = r.jobs === 1_000_000 ? '1M' : String(r.jobs);
  return [
    `pending jobs: ${r.jobs} in one deployment`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    `${count} pending: RSS ${rss.valueMiB} MiB (target < ${rss.targetMiB}) ${pass(rss.pass)}, rebuild ${rebuild.valueSeconds} s (target < ${rebuild.targetSeconds}) ${pass(rebuild.pass)}`,
  ];
}

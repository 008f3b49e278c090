/**
 * The parent side of worker-ipc.ts: starts N worker processes (`node --import tsx <script>`), waits
 * until each says it is ready, adds up their completion reports, and stops them all at the end (politely,
 * then SIGKILL). A worker that dies or reports a fatal error fails whatever the benchmark is waiting on.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { REPO_ROOT, stopChild } from './system.js';
import type { ParentMessage, WorkerMessage } from './worker-ipc.js';

export interface WorkerPoolOptions {
  /** Names the pool in errors, e.g. "graphile-worker". */
  label: string;
  /** Absolute path of the worker's .ts entry. */
  script: string;
  /** How many worker processes to start. */
  count: number;
  /** Extra environment for the workers (connection details, mode). */
  env: Record<string, string>;
  /** Give up if the workers are not all ready after this long (default: 120000). */
  readyTimeoutMs?: number;
}

export interface WorkerPool {
  /** Completions reported so far, over all workers. */
  readonly completed: number;
  /** Resolves with the time (hrtime ns) of the last completion once `target` completions are reported. */
  waitForCompleted(target: number, timeoutMs: number): Promise<bigint>;
  /** Latency mode: resolves with the time (hrtime ns) a worker began job `seq`. */
  waitForStart(seq: number, timeoutMs: number): Promise<bigint>;
  stop(): Promise<void>;
}

interface Waiter {
  done: () => boolean;
  fail: (err: Error) => void;
}

/** Starts the workers and resolves once every one is ready. */
export async function startWorkerPool(opts: WorkerPoolOptions): Promise<WorkerPool> {
  const pool = new ProcessWorkerPool(opts);
  try {
    await pool.waitReady(opts.readyTimeoutMs ?? 120_000);
    return pool;
  } catch (err) {
    await pool.stop();
    throw err;
  }
}

class ProcessWorkerPool implements WorkerPool {
  private readonly children: ChildProcess[] = [];
  private readonly progress = new Map<number, { completed: number; lastAt: bigint }>();
  private readonly starts = new Map<number, bigint>();
  private readonly waiters = new Set<Waiter>();
  private readyCount = 0;
  private failure: Error | undefined;
  private stopping = false;

  constructor(private readonly opts: WorkerPoolOptions) {
    for (let i = 0; i < opts.count; i++) this.children.push(this.spawnWorker(i));
  }

  get completed(): number {
    let sum = 0;
    for (const p of this.progress.values()) sum += p.completed;
    return sum;
  }

  waitReady(timeoutMs: number): Promise<void> {
    const what = () => `${this.readyCount} of ${this.opts.count} ${this.opts.label} workers ready`;
    return this.wait(() => this.readyCount === this.opts.count, timeoutMs, what).then(() => undefined);
  }

  waitForCompleted(target: number, timeoutMs: number): Promise<bigint> {
    const what = () => `${this.opts.label}: ${this.completed} of ${target} jobs completed`;
    return this.wait(() => this.completed >= target && this.lastCompletion(), timeoutMs, what);
  }

  waitForStart(seq: number, timeoutMs: number): Promise<bigint> {
    return this.wait(() => this.starts.get(seq) ?? false, timeoutMs, () => `${this.opts.label}: job ${seq} to start`);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const child of this.children) if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
    await Promise.all(this.children.map((child) => stopAfter(child, 10_000)));
  }

  private lastCompletion(): bigint {
    let last = 0n;
    for (const p of this.progress.values()) if (p.lastAt > last) last = p.lastAt;
    return last;
  }

  /** Resolves when `check` returns a value (not false), re-checked on every message; bounded by `timeoutMs`. */
  private wait<T>(check: () => T | false, timeoutMs: number, what: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms: ${what()}`)), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        reject(err);
      };
      const waiter: Waiter = {
        done: () => {
          const value = check();
          if (value === false) return false;
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(value);
          return true;
        },
        fail,
      };
      if (this.failure) return fail(this.failure);
      if (!waiter.done()) this.waiters.add(waiter);
    });
  }

  private spawnWorker(index: number): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', this.opts.script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.opts.env, BENCH_WORKER_INDEX: String(index) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (msg: WorkerMessage) => this.onMessage(index, msg));
    child.on('exit', (code, signal) => {
      if (!this.stopping) this.failAll(new Error(`${this.opts.label} worker ${index} exited (${code ?? signal})`));
    });
    child.on('error', (err) => this.failAll(new Error(`${this.opts.label} worker ${index}: ${err.message}`)));
    return child;
  }

  private onMessage(index: number, msg: WorkerMessage): void {
    if (msg.type === 'ready') this.readyCount++;
    if (msg.type === 'progress') this.progress.set(index, { completed: msg.completed, lastAt: BigInt(msg.lastAt) });
    if (msg.type === 'started') this.starts.set(msg.seq, BigInt(msg.startedAt));
    if (msg.type === 'fatal') this.failAll(new Error(`${this.opts.label} worker ${index}: ${msg.message}`));
    for (const waiter of [...this.waiters]) waiter.done();
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const waiter of [...this.waiters]) waiter.fail(this.failure);
  }
}

/** Waits up to `graceMs` for a worker asked to stop, then SIGTERM/SIGKILL. */
async function stopAfter(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref());
  if ((await Promise.race([exited.then(() => false), timedOut])) === true) await stopChild(child, 2_000);
}

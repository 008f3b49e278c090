import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SDK_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TEST_WORKER = path.join(SDK_ROOT, 'test/fixtures/test-worker.ts');
/** tsx's loader by absolute URL, so a worker can run in a directory with no node_modules of its own. */
const TSX_LOADER = import.meta.resolve('tsx');

export interface WorkerProcess {
  child: ChildProcess;
  /** The worker's own directory (its inputs/, marker files and test files). */
  cwd: string;
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  output(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<number | NodeJS.Signals>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts `file` (a TypeScript worker) through tsx in a fresh directory, on a free port, with `env` added. */
export async function startWorker(options: { file?: string; args?: string[]; env?: Record<string, string>; cwd?: string } = {}): Promise<WorkerProcess> {
  const port = await freePort();
  const cwd = options.cwd ?? mkdtempSync(path.join(tmpdir(), 'sprocket-ts-worker-'));
  const args = ['--import', TSX_LOADER, options.file ?? TEST_WORKER, ...(options.args ?? ['--queue']), '--port', String(port)];
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? -1);
    }),
  );
  return { child, cwd, port, url: `http://127.0.0.1:${port}`, output: () => out, exited };
}

/** Polls the worker's /health until it answers at all (any status); fails with the worker's output. */
export async function untilListening(worker: WorkerProcess, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (worker.child.exitCode !== null) throw new Error(`worker exited with ${worker.child.exitCode}:\n${worker.output()}`);
    const ok = await fetch(`${worker.url}/health`).then(() => true, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`worker did not listen in time:\n${worker.output()}`);
}

export async function stopWorker(worker: WorkerProcess): Promise<number | NodeJS.Signals> {
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
  return worker.exited;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

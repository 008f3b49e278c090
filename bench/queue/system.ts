/**
 * Small operating-system helpers for the queue benchmark: run a command with a deadline, find an
 * executable, pick a free loopback port, poll until something is ready, and install missing Debian
 * packages. Every wait here is bounded and fails with a message that says what it was waiting for.
 */
import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The repository root: results go under it, and workers run from it so `--import tsx` resolves. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RunOptions {
  /** Kill the command and fail after this long (default: 60000). */
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs a command to completion; rejects with its exit status and output when it fails or times out. */
export function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const timeout = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout, cwd: opts.cwd, env: opts.env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const why = err.killed ? `timed out after ${timeout} ms` : `failed (${err.code ?? err.signal ?? 'error'})`;
      reject(new Error(`${cmd} ${args.join(' ')} ${why}\n${tail(`${stdout}${stderr}`)}`, { cause: err }));
    });
  });
}

/** The last lines of some output, for error messages. */
export function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The absolute path of an executable found on PATH (plus the sbin folders root's PATH may lack), or undefined. */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** Debian's PostgreSQL server binaries live in /usr/lib/postgresql/<major>/bin; the newest major wins. */
export function findPostgresBinDir(): string | undefined {
  let majors: string[];
  try {
    majors = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v));
  } catch {
    return undefined;
  }
  majors.sort((a, b) => Number(b) - Number(a));
  return majors
    .map((major) => `/usr/lib/postgresql/${major}/bin`)
    .find((dir) => findExecutableIn(dir, 'initdb') && findExecutableIn(dir, 'pg_ctl'));
}

function findExecutableIn(dir: string, name: string): boolean {
  try {
    accessSync(path.join(dir, name), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it; the race window is tiny). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

/**
 * Calls `probe` every `intervalMs` until it returns true, or fails after `timeoutMs` with `what` and the
 * text `detail()` gives (a log tail, say). Probe errors count as "not yet".
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean> | boolean,
  opts: { timeoutMs: number; intervalMs?: number; detail?: () => string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(opts.intervalMs ?? 50);
  }
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  const detail = opts.detail ? `\n${opts.detail()}` : '';
  throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${cause}${detail}`);
}

/**
 * Installs the Debian packages whose programs are missing, with one `apt-get update` first. Needs root;
 * otherwise it says which packages to install.
 */
export async function ensureDebianPackages(missing: string[], log: (line: string) => void): Promise<void> {
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages (${missing.join(', ')}); run as root or: apt-get install ${missing.join(' ')}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing ${missing.join(' ')} (apt-get)`);
  await runCommand('apt-get', ['update'], { env, timeoutMs: 5 * 60_000 });
  await runCommand('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, timeoutMs: 10 * 60_000 });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

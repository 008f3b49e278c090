import { spawn } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { isSameProcessAlive, readProcStat, signalGroup } from './proc.js';

/** How a replica's process ended. `code` is undefined when it died of a signal, or when it was adopted. */
export interface Ended {
  code: number | undefined;
  signal: string | undefined;
}

/** A running replica process, whether we started it (a child) or found it after a restart (adopted). */
export interface ProcessHandle {
  readonly pid: number;
  /** /proc start time, kept with the pid to tell this process from a later one with the same pid. */
  readonly startTime: number;
  readonly exited: Promise<Ended>;
  /** Signals the whole process group (the replica and everything it started). */
  signal(signal: NodeJS.Signals): void;
}

export interface LaunchOptions {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** stdout and stderr are appended here, by the child itself, so output survives a server restart. */
  logPath: string;
  /** A file given to the child as its stdin, then removed (default: no stdin). */
  stdinFile?: string | undefined;
}

/** The command could not be started at all (not found, not executable). */
export class LaunchError extends Error {
  override readonly name = 'LaunchError';
}

/**
 * Starts a replica in its own session and process group (detached), so it survives the server being
 * killed and can be signalled as a group. Its output goes straight to the log file: the server opens the
 * file and passes the descriptor, so no pipe to the server exists that could break when the server dies.
 */
export async function launchProcess(options: LaunchOptions): Promise<ProcessHandle> {
  const fd = openSync(options.logPath, 'a', 0o600);
  const input = options.stdinFile === undefined ? 'ignore' : openSync(options.stdinFile, 'r');
  try {
    const child = spawn(options.file, options.args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: [input, fd, fd],
    });
    const exited = new Promise<Ended>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code: code ?? undefined, signal: signal ?? undefined }));
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new LaunchError(`cannot run ${options.file}: ${err.message}`)));
    });
    const pid = child.pid!;
    return { pid, startTime: readProcStat(pid)?.startTime ?? 0, exited, signal: (s) => signalGroup(pid, s) };
  } finally {
    closeSync(fd);
    if (typeof input === 'number') closeSync(input);
    if (options.stdinFile !== undefined) rmSync(options.stdinFile, { force: true });
  }
}

/**
 * Watches a process we did not start (it outlived a server restart): polls every `pollMs` whether the
 * same process (pid and start time) is still alive. Its exit code cannot be known.
 * Returns undefined when it is already gone.
 */
export function adoptProcess(pid: number, startTime: number, pollMs: number): ProcessHandle | undefined {
  if (!isSameProcessAlive(pid, startTime)) return undefined;
  const exited = new Promise<Ended>((resolve) => {
    const timer = setInterval(() => {
      if (isSameProcessAlive(pid, startTime)) return;
      clearInterval(timer);
      resolve({ code: undefined, signal: undefined });
    }, pollMs);
  });
  const signal = (s: NodeJS.Signals) => {
    // Never signal a group whose leader is a different process now: the pid may have been reused.
    if (isSameProcessAlive(pid, startTime)) signalGroup(pid, s);
  };
  return { pid, startTime, exited, signal };
}

import { readFileSync } from 'node:fs';

/**
 * What /proc says about a pid. A replica that outlived a server restart is no longer our child, so we
 * cannot wait for it; we poll instead. A pid alone is not an identity (the kernel reuses pids), so we
 * keep the process's start time (field 22 of /proc/<pid>/stat, in clock ticks since boot) with it: same
 * pid and same start time is the same process.
 */
export interface ProcStat {
  /** Field 3: R, S, D, Z (zombie), T, … */
  state: string;
  /** Field 22: start time in clock ticks after boot. */
  startTime: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Parses /proc/<pid>/stat. The command name (field 2) may hold spaces and parentheses: split after the last ')'. */
export function parseProcStat(text: string): ProcStat | undefined {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const startTime = Number(rest[19]);
  if (!rest[0] || !Number.isFinite(startTime)) return undefined;
  return { state: rest[0], startTime };
}

/**
 * Whether the process that had `startTime` is still running. A zombie counts as gone: it has exited, and
 * when its new parent (the system's init, after a server restart) does not reap it, it would otherwise
 * look alive forever.
 */
export function isSameProcessAlive(pid: number, startTime: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.startTime === startTime && stat.state !== 'Z' && stat.state !== 'X';
}

/** Sends `signal` to the process group led by `pid`; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

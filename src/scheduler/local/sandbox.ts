import { execFile } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { VolumeMountSpec } from '../scheduler.js';
import { planMounts, type HostEntry, type HostView } from './mount-plan.js';

/**
 * Volumes for local replicas, with bubblewrap (`bwrap`): each replica that has volumes runs in a private
 * mount namespace where every volume is a read-only bind at its mount path (see mount-plan.ts for how the
 * namespace is built without writing to the host). The network is shared (no --unshare-net), so the
 * replica's PORT works as without a sandbox, and the process group is not changed (no --new-session), so
 * stopping a replica still signals everything in it.
 *
 * Modes: `auto` sandboxes only replicas with volumes, when bwrap works; `bwrap` sandboxes every replica and
 * needs bwrap; `none` never sandboxes, so specs with volumes are refused.
 */
export type SandboxMode = 'auto' | 'bwrap' | 'none';

export interface WrappedCommand {
  file: string;
  args: string[];
}

export class Sandbox {
  private selfTest: Promise<string | undefined> | undefined;

  constructor(
    private readonly mode: SandboxMode,
    private readonly testDir: string,
    private readonly bwrapBin = 'bwrap',
  ) {}

  /** Whether replicas of this spec run inside bwrap. */
  wraps(volumes: VolumeMountSpec[]): boolean {
    return this.mode === 'bwrap' || (this.mode === 'auto' && volumes.length > 0);
  }

  /** Undefined when bwrap can be used; otherwise why not, in words for an operator. */
  unavailableReason(): Promise<string | undefined> {
    if (this.mode === 'none') return Promise.resolve('the sandbox is turned off (sandbox: none)');
    this.selfTest ??= this.runSelfTest();
    return this.selfTest;
  }

  /** The command that runs `argv` in `cwd` inside a namespace holding `volumes`. */
  wrap(argv: string[], cwd: string, volumes: VolumeMountSpec[]): WrappedCommand {
    const mounts = planMounts(volumes, hostView);
    return { file: this.bwrapBin, args: [...mounts, '--chdir', cwd, ...argv] };
  }

  /** Builds a real namespace with one read-only mount (of our own directory) and checks it shows up. */
  private runSelfTest(): Promise<string | undefined> {
    const probe = '/.gantry-bwrap-self-test';
    const mounts = planMounts([{ hostPath: this.testDir, mountPath: probe }], hostView);
    return new Promise((resolve) => {
      execFile(this.bwrapBin, [...mounts, 'test', '-d', probe], { timeout: 10_000 }, (err, _out, stderr) => {
        if (!err) return resolve(undefined);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return resolve('bubblewrap (bwrap) is not installed');
        resolve(`bwrap does not work here: ${stderr.trim() || err.message}`);
      });
    });
  }
}

/** The real host file tree, for the mount planner. */
export const hostView: HostView = {
  list(dir: string): HostEntry[] | undefined {
    try {
      return readdirSync(dir, { withFileTypes: true }).map((d) => {
        if (d.isSymbolicLink()) return { name: d.name, kind: 'symlink', target: readlinkSync(path.join(dir, d.name)) };
        return { name: d.name, kind: d.isDirectory() ? 'dir' : d.isFile() ? 'file' : 'other' };
      });
    } catch {
      return undefined;
    }
  },
};

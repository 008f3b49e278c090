import { execFile } from 'node:child_process';
import { accessSync, chownSync, constants, lchownSync, lstatSync, mkdirSync, rmSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { VolumeMountSpec } from '../scheduler.js';
import { isUnder, MountPlanError, planNamespace, volumeMounts, type HostEntry, type HostView, type NamespaceMount } from './mount-plan.js';
import { LaunchError } from './process-handle.js';
import { replicaIdentity, shareWithGroup, type ReplicaIdentity } from './sandbox-identity.js';

/**
 * Every local replica runs in its own bubblewrap (`bwrap`) sandbox (README, "Trust model"):
 * - a mount namespace (mount-plan.ts): the machine read-only, Gantry's data directory hidden, and only
 *   what the replica needs shown in it: its project (read-only entries over a writable layer of its own,
 *   `<replica dir>/work`, emptied at each start), its virtualenv, the CA certificate, its volumes, and its
 *   own writable scratch directory (HOME, `<replica dir>/home`); a private /tmp and /dev/shm;
 * - its own PID and IPC namespaces: no other replica's or the server's processes, so no
 *   `/proc/<pid>/environ` to read;
 * - when the server runs as root, an unprivileged uid per deployment (sandbox-identity.ts), dropped with
 *   `setpriv` after the namespace is built, with no capabilities and no way to regain any.
 * The network is shared (the replica serves its PORT on the machine), and the process group is kept (no
 * --new-session), so stopping a replica signals everything in it. bwrap itself would die of SIGTERM
 * before the replica could shut down gracefully, so it is started with SIGTERM/SIGINT/SIGHUP ignored
 * (`env --ignore-signal`), and the replica's command gets them back (`env --default-signal`).
 *
 * Modes: `bwrap` (the default) requires the sandbox; `none` is the operator's explicit opt-out: replicas
 * run as the server's user with nothing hidden, and specs with volumes are refused.
 */
export type SandboxMode = 'bwrap' | 'none';

export interface SandboxOptions {
  mode: SandboxMode;
  dataDir: string;
  /** Gantry's CA certificate, shown read-only to replicas (default: none). */
  caFile?: string | undefined;
  /** The uids replicas run as when the server is root, `[first, last]` (default: 200000–299999). */
  uids?: readonly [number, number];
  /** Whether the server runs as root (default: from process.getuid()). */
  root?: boolean;
  /** The server's own PATH, the only variable the sandbox's privileged steps see (default: system dirs). */
  path?: string | undefined;
  bwrapBin?: string;
}

export interface WrappedCommand {
  file: string;
  args: string[];
}

/** A replica's sandboxed command: run with `env` (the server's PATH only), with `stdinFile` as its input. */
export interface SandboxedCommand extends WrappedCommand {
  env: Record<string, string>;
  /** The replica's environment as a shell script, read inside the sandbox after the uid is dropped. */
  stdinFile: string;
}

export interface LaunchRequest {
  deploymentId: string;
  argv: string[];
  /** The project directory (its real path), the replica's working directory. */
  cwd: string;
  volumes: VolumeMountSpec[];
  venvDir: string | undefined;
  /** `<dataDir>/replicas/<id>`: the replica's scratch directory is made in it. */
  replicaDir: string;
  /** The replica's environment. It never reaches a process that runs as the server's user (see prepare). */
  env: Record<string, string>;
}

/** What a virtualenv build step may reach besides the read-only machine. */
export interface BuildAccess {
  writable: string[];
  /** Files or directories shown read-only even where the sandbox hides them (a wheel under /tmp). */
  readable: string[];
}

const HELD_SIGNALS = ['TERM', 'INT', 'HUP'];

/** Reads the environment script from stdin, then runs the command with stdin closed to /dev/null. */
const APPLY_ENV = ['sh', '-c', 'eval "$(cat)" && exec "$@" </dev/null', 'sh'];

/** `export NAME='value'` lines; names that a shell could not export are left out. */
export function envScript(env: Record<string, string>): string {
  return Object.entries(env)
    .filter(([name]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    .map(([name, value]) => `export ${name}='${value.replaceAll("'", "'\\''")}'\n`)
    .join('');
}

export class Sandbox {
  private selfTest: Promise<string | undefined> | undefined;
  private readonly root: boolean;
  private readonly uids: readonly [number, number];
  private readonly bwrapBin: string;

  constructor(private readonly options: SandboxOptions) {
    this.root = options.root ?? process.getuid?.() === 0;
    this.uids = options.uids ?? [200_000, 299_999];
    this.bwrapBin = options.bwrapBin ?? 'bwrap';
  }

  get enabled(): boolean {
    return this.options.mode === 'bwrap';
  }

  /**
   * Undefined when the sandbox works here; otherwise what is missing, in words for an operator. Only a
   * success is kept: after a failure the next call tests again, so installing bubblewrap takes effect at
   * the next deploy, without a restart.
   */
  unavailableReason(): Promise<string | undefined> {
    if (!this.enabled) return Promise.resolve('the sandbox is turned off (GANTRY_SANDBOX=none)');
    this.selfTest ??= this.runSelfTest().then((reason) => {
      if (reason) this.selfTest = undefined;
      return reason;
    });
    return this.selfTest;
  }

  /** The uid and group the deployment's replicas run as; undefined when they run as the server's user. */
  identity(deploymentId: string): ReplicaIdentity | undefined {
    return this.root ? replicaIdentity(deploymentId, this.uids) : undefined;
  }

  /** The replica's writable scratch directory (its HOME): `home` in its directory. */
  homeOf(replicaDir: string): string {
    return path.join(realpathSync(replicaDir), 'home');
  }

  /** The replica's writable layer under its project directory's entries. */
  private workOf(replicaDir: string): string {
    return path.join(realpathSync(replicaDir), 'work');
  }

  /**
   * Makes the replica's scratch directory and shares its inputs with it; returns the command to spawn.
   * A command that cannot be found fails here (LaunchError), as it would without the sandbox.
   *
   * The deployment's environment is the caller's to choose (PATH, LD_PRELOAD…), so it must not reach
   * env, bwrap and setpriv, which run as the server's user: they get the server's PATH only, and the
   * environment travels as a script on stdin, applied by a shell after the uid is dropped.
   */
  prepare(request: LaunchRequest): SandboxedCommand {
    const program = request.argv[0] ?? '';
    if (!findExecutable(program, request.cwd, request.env.PATH)) {
      throw new LaunchError(`cannot run ${program}: spawn ${program} ENOENT (not found in the project directory or on PATH)`);
    }
    const identity = this.identity(request.deploymentId);
    const { home, work } = this.makeScratch(request.replicaDir, identity);
    if (identity) {
      for (const dir of [request.venvDir, ...request.volumes.map((v) => v.hostPath)]) {
        if (dir) shareWithGroup(dir, identity.gid);
      }
    }
    const mounts = this.mounts(request, home, work);
    const stdinFile = path.join(realpathSync(request.replicaDir), 'launch.env');
    writeFileSync(stdinFile, envScript(request.env), { mode: 0o600 });
    const command = this.command(mounts, realpathSync(request.cwd), [...APPLY_ENV, ...request.argv], identity);
    return { ...command, env: this.privilegedEnv(), stdinFile };
  }

  /** The environment of the steps that run as the server's user. */
  private privilegedEnv(): Record<string, string> {
    return { PATH: this.options.path ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
  }

  /** The replica's HOME (kept across restarts) and project layer (emptied at every start, as a new container's). */
  private makeScratch(replicaDir: string, owner: ReplicaIdentity | undefined): { home: string; work: string } {
    const home = this.homeOf(replicaDir);
    const work = this.workOf(replicaDir);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { mode: 0o700 });
    if (owner) for (const dir of [home, work]) chownSync(dir, owner.uid, owner.gid);
    return { home, work };
  }

  /** Checks, without starting anything, that the spec's mounts can be planned (apply-time validation). */
  assertPlannable(request: Omit<LaunchRequest, 'argv' | 'replicaDir' | 'env'>): void {
    const scratch = path.join(this.options.dataDir, 'replicas');
    this.mounts({ ...request, argv: [], replicaDir: this.options.dataDir, env: {} }, scratch, scratch);
  }

  private mounts(request: LaunchRequest, home: string, work: string): NamespaceMount[] {
    const dataDir = realpathSync(this.options.dataDir);
    const cwd = realpathSync(request.cwd);
    if (cwd === dataDir || isUnder(cwd, dataDir)) {
      throw new MountPlanError(`the project directory ${cwd} is inside Gantry's data directory, which replicas never see`);
    }
    const mounts: NamespaceMount[] = [
      { kind: 'layered', path: cwd, hostPath: cwd, scratch: work },
      { kind: 'scratch', path: '/tmp' },
      { kind: 'hidden', path: dataDir },
      ...venvMounts(request.venvDir),
      ...optionalFile(this.options.caFile),
      { kind: 'rw', path: home },
      ...volumeMounts(request.volumes, hostView),
    ];
    return uniqueByPath(mounts);
  }

  private command(mounts: NamespaceMount[], cwd: string, argv: string[], identity: ReplicaIdentity | undefined): WrappedCommand {
    const namespace = ['--unshare-pid', '--unshare-ipc', ...planNamespace(mounts, hostView), '--chdir', cwd];
    const drop = identity ? dropArgs(identity) : [];
    // env also finds the command on PATH as the replica's user (setpriv's own lookup fails on a PATH
    // entry that user may not enter, such as /root/.pyenv/shims).
    const restore = ['env', `--default-signal=${HELD_SIGNALS.join(',')}`];
    const hold = HELD_SIGNALS.map((s) => `--ignore-signal=${s}`);
    return { file: 'env', args: [...hold, this.bwrapBin, ...namespace, '--', ...drop, ...restore, ...argv] };
  }

  /**
   * Wraps a virtualenv build step (`python -m venv`, `pip install`): in a sandbox like a replica's (data
   * directory hidden, machine read-only), as the replicas' group's own uid when the server is root, so a
   * package's build code runs with no more power than the replica will. `writable` trees are made the
   * builder's.
   */
  wrapBuild(argv: string[], access: BuildAccess): WrappedCommand {
    const builder = this.root ? { uid: this.uids[0], gid: this.uids[0] } : undefined;
    for (const dir of access.writable) {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      if (builder) chownTree(dir, builder);
    }
    const mounts: NamespaceMount[] = [
      { kind: 'scratch', path: '/tmp' },
      { kind: 'hidden', path: realpathSync(this.options.dataDir) },
      ...access.writable.map((dir) => ({ kind: 'rw' as const, path: realpathSync(dir) })),
      ...access.readable.flatMap((file) => optionalFile(file)),
    ];
    const namespace = ['--unshare-pid', '--unshare-ipc', '--die-with-parent', ...planNamespace(uniqueByPath(mounts), hostView), '--chdir', '/tmp'];
    const drop = builder ? dropArgs(builder) : [];
    return { file: this.bwrapBin, args: [...namespace, '--', ...drop, 'env', ...argv] };
  }

  /** Runs `id -u` through the whole chain, in a namespace like a replica's, and checks who it ran as. */
  private runSelfTest(): Promise<string | undefined> {
    const dataDir = this.options.dataDir;
    let command: WrappedCommand;
    try {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const mounts: NamespaceMount[] = [{ kind: 'scratch', path: '/tmp' }, { kind: 'hidden', path: realpathSync(dataDir) }];
      command = this.command(mounts, '/', ['id', '-u'], this.identity('gantry-self-test'));
    } catch (err) {
      return Promise.resolve(`the sandbox cannot be planned: ${(err as Error).message}`);
    }
    const expected = String(this.identity('gantry-self-test')?.uid ?? process.getuid?.());
    return new Promise((resolve) => {
      execFile(command.file, command.args, { timeout: 10_000 }, (err, stdout, stderr) => {
        if (!err && stdout.trim() === expected) return resolve(undefined);
        resolve(explainFailure(String(stderr), err, stdout.trim(), expected));
      });
    });
  }
}

function explainFailure(stderr: string, err: Error | null, got: string, expected: string): string {
  const said = stderr.trim().split('\n').slice(-3).join('; ');
  if (/bwrap.*No such file/.test(stderr)) return 'bubblewrap (bwrap) is not installed (apt-get install bubblewrap)';
  if (/setpriv.*No such file/.test(stderr)) return 'setpriv (util-linux) is not installed, and the server runs as root';
  if (/unrecognized option|invalid option/.test(stderr)) return 'env from GNU coreutils 8.31 or newer is needed (--ignore-signal)';
  if (!err) return `the sandboxed process ran as uid ${got}, not ${expected}`;
  return `bwrap does not work here: ${said || err.message}`;
}

/** A virtualenv and the Python installation its interpreter links to (pyvenv.cfg `home`). */
function venvMounts(venvDir: string | undefined): NamespaceMount[] {
  if (!venvDir) return [];
  const mounts: NamespaceMount[] = [{ kind: 'ro', path: realpathSync(venvDir) }];
  const home = /^home\s*=\s*(.+)$/m.exec(readFileOr(path.join(venvDir, 'pyvenv.cfg')))?.[1]?.trim();
  const prefix = home ? realPathOr(path.dirname(home)) : undefined;
  if (prefix && prefix !== '/') mounts.push({ kind: 'ro', path: prefix });
  return mounts;
}

function chownTree(root: string, who: ReplicaIdentity): void {
  chownSync(root, who.uid, who.gid);
  if (!lstatSync(root).isDirectory()) return;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const p = path.join(root, entry.name);
    if (entry.isDirectory()) chownTree(p, who);
    else lchownSync(p, who.uid, who.gid);
  }
}

/** setpriv to `who`, for good: no supplementary groups, no capabilities, no way to gain privileges. */
function dropArgs(who: ReplicaIdentity): string[] {
  return ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--'];
}

/** A file shown read-only at its real path, when it exists. */
function optionalFile(file: string | undefined): NamespaceMount[] {
  const real = file ? realPathOr(file) : undefined;
  return real ? [{ kind: 'ro', path: real }] : [];
}

/** Whether `program` names an executable file: as a path (from `cwd`), or found on `searchPath`. */
export function findExecutable(program: string, cwd: string, searchPath: string | undefined): boolean {
  if (!program) return false;
  const candidates = program.includes('/')
    ? [path.resolve(cwd, program)]
    : (searchPath ?? '').split(':').filter(Boolean).map((dir) => path.resolve(cwd, dir, program));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

function uniqueByPath(mounts: NamespaceMount[]): NamespaceMount[] {
  const seen = new Set<string>();
  return mounts.filter((m) => !seen.has(m.path) && seen.add(m.path));
}

function readFileOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function realPathOr(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
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

import path from 'node:path';

/**
 * Plans the bubblewrap mount namespace of a local replica. Pure: the host's file tree is read through
 * `HostView`, so the plan is table-tested without touching the disk.
 *
 * bwrap starts from an empty tmpfs root. The host's top-level entries are bound READ-ONLY at the same
 * place, so programs and libraries are found as on the machine, but nothing on it can be changed. Then
 * come the namespace's own mounts, shallowest first:
 * - `ro`/`rw`: a host path bound at a path (the project, its virtualenv, the CA file, volumes; the
 *   replica's own scratch directory is the only `rw` one);
 * - `hidden`: an empty tmpfs over a path (Gantry's data directory: no key, database or other replica's
 *   files can be reached), into which the `ro`/`rw` mounts under it are then bound;
 * - `scratch`: a private, world-writable tmpfs (`/tmp`);
 * - `layered`: the project directory as a container shows its image: a writable directory of the
 *   replica's own (`scratch`), holding the project's entries bound read-only, so the replica can create
 *   files next to them (Sprocket's `inputs/`) without changing the project or seeing another replica's.
 * A directory on the way to a mount is not bound whole: it is made in the namespace (`--dir`, on the
 * tmpfs) and its children are bound one by one. Mount points are thus made on tmpfs, never on the host,
 * and the mount's parents are ordinary directories (0755) even where the host's are private (`/root`).
 * `/proc` (of the replica's own PID namespace) and `/dev` are given fresh; `/dev/shm` is private.
 */

export type HostEntryKind = 'dir' | 'file' | 'symlink' | 'other';

export interface HostEntry {
  name: string;
  kind: HostEntryKind;
  /** The link text, for symlinks. */
  target?: string;
}

export interface HostView {
  /** Entries of a host directory, or undefined when `dir` is not a directory. */
  list(dir: string): HostEntry[] | undefined;
}

export type NamespaceMountKind = 'ro' | 'rw' | 'hidden' | 'scratch' | 'layered';

export interface NamespaceMount {
  kind: NamespaceMountKind;
  /** Where it appears in the namespace (absolute). */
  path: string;
  /** The host path bound there (`ro`, `rw`, `layered`). */
  hostPath?: string;
  /** `layered`: the writable host directory under the read-only entries. */
  scratch?: string;
}

/** A volume: a host directory shown read-only at a mount path. */
export interface PlannedVolume {
  hostPath: string;
  mountPath: string;
}

/** A mount path that cannot be set up safely (relative, `/`, under /proc or /dev, nested in another). */
export class MountPlanError extends Error {
  override readonly name = 'MountPlanError';
}

/** Top-level entries the namespace replaces with its own (`--proc`, `--dev-bind`). */
const REPLACED = new Set(['/proc', '/dev']);

/** The namespace's mounts for volumes, after checking their mount paths (see resolveMountPath). */
export function volumeMounts(volumes: PlannedVolume[], host: HostView): NamespaceMount[] {
  const mounts = volumes.map((v) => ({ kind: 'ro' as const, hostPath: v.hostPath, path: resolveMountPath(v.mountPath, host) }));
  assertDisjoint(mounts.map((m) => m.path));
  return mounts;
}

/** bwrap arguments (before the command) for a namespace holding `mounts` over the read-only host. */
export function planNamespace(mounts: NamespaceMount[], host: HostView): string[] {
  const targets = mounts.map((m) => m.path);
  const args = ['--proc', '/proc', '--dev-bind', '/dev', '/dev', '--tmpfs', '/dev/shm'];
  args.push(...planDir('/', targets, host));
  const made = new Set(args.filter((_, i) => args[i - 1] === '--dir'));
  for (const mount of shallowestFirst(mounts)) {
    assertMountPoint(mount, mounts, host);
    args.push(...parentDirs(mount.path, made), ...mountArgs(mount));
    if (mount.kind === 'layered') args.push(...layeredEntries(mount, targets, host));
  }
  return args;
}

/** The project's own entries, read-only, on top of the replica's writable directory. */
function layeredEntries(mount: NamespaceMount, targets: string[], host: HostView): string[] {
  const args: string[] = [];
  for (const entry of sortedEntries(host.list(mount.hostPath ?? mount.path))) {
    const p = path.posix.join(mount.path, entry.name);
    if (targets.some((t) => t === p || isUnder(t, p))) continue;
    if (entry.kind === 'symlink') args.push('--symlink', entry.target ?? '', p);
    else args.push(entry.kind === 'other' ? '--dev-bind' : '--ro-bind', path.posix.join(mount.hostPath ?? mount.path, entry.name), p);
  }
  return args;
}

/**
 * `--dir` for each parent of a mount path not made yet: bwrap would make missing ones itself, but
 * private (0700), and an unprivileged replica could not pass them. On an existing directory it does nothing.
 */
function parentDirs(p: string, made: Set<string>): string[] {
  const args: string[] = [];
  const parts = splitPath(p).slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const dir = `/${parts.slice(0, i).join('/')}`;
    if (made.has(dir)) continue;
    made.add(dir);
    args.push('--dir', dir);
  }
  return args;
}

/**
 * A mount inside a read-only bind (a volume inside the project) needs its mount point to exist there:
 * bwrap cannot make it in a read-only tree.
 */
function assertMountPoint(mount: NamespaceMount, mounts: NamespaceMount[], host: HostView): void {
  const enclosing = mounts.filter((o) => isUnder(mount.path, o.path)).sort((a, b) => depth(b.path) - depth(a.path))[0];
  if (!enclosing || enclosing.kind === 'hidden' || enclosing.kind === 'scratch') return;
  if (enclosing.kind === 'layered' && !throughProjectEntry(enclosing, mount.path, host)) return;
  const hostPath = path.posix.join(enclosing.hostPath ?? enclosing.path, path.posix.relative(enclosing.path, mount.path));
  const exists = host.list(path.posix.dirname(hostPath))?.some((e) => e.name === path.posix.basename(hostPath));
  if (!exists) {
    throw new MountPlanError(`cannot mount at ${mount.path}: it is inside ${enclosing.path}, which is read-only, and does not exist there`);
  }
}

/** Whether `p` lies inside one of the project's own (read-only) entries, rather than in the writable layer. */
function throughProjectEntry(project: NamespaceMount, p: string, host: HostView): boolean {
  const [first, ...rest] = path.posix.relative(project.path, p).split('/');
  return rest.length > 0 && (host.list(project.hostPath ?? project.path) ?? []).some((e) => e.name === first);
}

function mountArgs(mount: NamespaceMount): string[] {
  switch (mount.kind) {
    case 'ro':
      return ['--ro-bind', mount.hostPath ?? mount.path, mount.path];
    case 'rw':
      return ['--bind', mount.hostPath ?? mount.path, mount.path];
    case 'hidden':
      return ['--tmpfs', mount.path];
    case 'scratch':
      return ['--perms', '1777', '--tmpfs', mount.path];
    case 'layered':
      return ['--bind', mount.scratch ?? mount.path, mount.path];
  }
}

/** Binds the children of `dir`; a child that leads to a mount point is made in the namespace and recursed. */
function planDir(dir: string, targets: string[], host: HostView): string[] {
  const args: string[] = [];
  for (const entry of sortedEntries(host.list(dir))) {
    const p = path.posix.join(dir, entry.name);
    if (REPLACED.has(p) || targets.includes(p)) continue;
    if (targets.some((t) => isUnder(t, p))) args.push(...planAncestor(p, entry, targets, host));
    else args.push(...bindEntry(p, entry));
  }
  return args;
}

function planAncestor(p: string, entry: HostEntry, targets: string[], host: HostView): string[] {
  // Mount paths are real paths, or resolved by resolveMountPath, so an ancestor is a directory or a file.
  if (entry.kind !== 'dir') throw new MountPlanError(`cannot mount under ${p}: it is not a directory on this machine`);
  return ['--dir', p, ...planDir(p, targets, host)];
}

function bindEntry(p: string, entry: HostEntry): string[] {
  if (entry.kind === 'symlink') return ['--symlink', entry.target ?? '', p];
  // Sockets, fifos and devices at the top of a directory tree are bound like files; dev-bind keeps devices usable.
  return [entry.kind === 'other' ? '--dev-bind' : '--ro-bind', p, p];
}

/**
 * Normalises a mount path and follows host symlinks on the way (`/lib/x` with `/lib → usr/lib` is
 * `/usr/lib/x`), because inside the namespace the same symlink would lead there.
 */
export function resolveMountPath(mountPath: string, host: HostView): string {
  if (!path.posix.isAbsolute(mountPath)) throw new MountPlanError(`mount path ${mountPath} is not absolute`);
  let pending = splitPath(mountPath);
  let resolved = '/';
  let hops = 0;
  while (pending.length > 0) {
    const [name, ...rest] = pending as [string, ...string[]];
    // The last component is replaced by the mount, so a symlink there is not followed.
    const entry = rest.length > 0 ? host.list(resolved)?.find((e) => e.name === name) : undefined;
    if (entry?.kind !== 'symlink') {
      resolved = path.posix.join(resolved, name);
      pending = rest;
      continue;
    }
    if (++hops > 40) throw new MountPlanError(`mount path ${mountPath} has too many symbolic links`);
    pending = [...splitPath(path.posix.resolve(resolved, entry.target ?? '')), ...rest];
    resolved = '/';
  }
  return assertMountable(resolved, mountPath);
}

function splitPath(p: string): string[] {
  return path.posix.normalize(p).split('/').filter(Boolean);
}

function assertMountable(resolved: string, asGiven: string): string {
  if (resolved === '/') throw new MountPlanError(`mount path ${asGiven} would hide the whole file system`);
  for (const replaced of REPLACED) {
    if (resolved === replaced || isUnder(resolved, replaced)) {
      throw new MountPlanError(`mount path ${asGiven} is inside ${replaced}, which each replica gets fresh`);
    }
  }
  return resolved;
}

function assertDisjoint(mountPaths: string[]): void {
  for (const a of mountPaths) {
    for (const b of mountPaths) {
      if (a !== b && isUnder(b, a)) throw new MountPlanError(`mount path ${b} is inside another mount path, ${a}`);
    }
  }
  if (new Set(mountPaths).size !== mountPaths.length) throw new MountPlanError('two volumes share one mount path');
}

/** Whether `p` lies strictly below `dir`. */
export function isUnder(p: string, dir: string): boolean {
  return p.startsWith(dir === '/' ? '/' : `${dir}/`) && p !== dir;
}

function depth(p: string): number {
  return splitPath(p).length;
}

function shallowestFirst(mounts: NamespaceMount[]): NamespaceMount[] {
  return [...mounts].sort((a, b) => depth(a.path) - depth(b.path));
}

function sortedEntries(entries: HostEntry[] | undefined): HostEntry[] {
  return [...(entries ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

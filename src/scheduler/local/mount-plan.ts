import path from 'node:path';

/**
 * Plans the bubblewrap mount namespace of a replica that has volumes. Pure: the host's file tree is read
 * through `HostView`, so the plan is table-tested without touching the disk.
 *
 * bwrap starts from an empty tmpfs root. We bind each top-level host entry read-write at the same place, so
 * the replica sees the machine as it is, then bind each volume read-only at its mount path. bwrap creates a
 * missing mount point with mkdir, and a mkdir inside a bind of a host directory would create it ON THE HOST.
 * So every directory on the way to a mount path is not bound whole: it is made in the namespace (`--dir`,
 * on the tmpfs) and its children are bound one by one, down to the mount point's parent. Mount points are
 * then created on tmpfs only, and no host path outside Gantry's own is ever written.
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

/** bwrap arguments (before the command) for a replica with these volumes. */
export function planMounts(volumes: PlannedVolume[], host: HostView): string[] {
  const resolved = volumes.map((v) => ({ hostPath: v.hostPath, mountPath: resolveMountPath(v.mountPath, host) }));
  assertDisjoint(resolved.map((v) => v.mountPath));
  const targets = resolved.map((v) => v.mountPath);
  const args = ['--proc', '/proc', '--dev-bind', '/dev', '/dev'];
  args.push(...planDir('/', targets, host));
  for (const v of resolved) args.push('--ro-bind', v.hostPath, v.mountPath);
  return args;
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
  // resolveMountPath has already replaced symlinks on the way, so an ancestor is a directory or a file.
  if (entry.kind !== 'dir') throw new MountPlanError(`cannot mount under ${p}: it is not a directory on this machine`);
  return ['--dir', p, ...planDir(p, targets, host)];
}

function bindEntry(p: string, entry: HostEntry): string[] {
  if (entry.kind === 'symlink') return ['--symlink', entry.target ?? '', p];
  // Sockets, fifos and devices at the top of a directory tree are bound like files; dev-bind keeps devices usable.
  return [entry.kind === 'other' ? '--dev-bind' : '--bind', p, p];
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
function isUnder(p: string, dir: string): boolean {
  return p.startsWith(dir === '/' ? '/' : `${dir}/`) && p !== dir;
}

function sortedEntries(entries: HostEntry[] | undefined): HostEntry[] {
  return [...(entries ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

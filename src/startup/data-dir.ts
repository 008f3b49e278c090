import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * File modes under the data directory: every directory 0700 and every file 0600 (an executable keeps its
 * owner's execute bit: virtualenvs hold interpreters), whatever the umask and whatever mode an existing
 * directory had. `secureDataDir` runs at start: it creates the directory, reports whether it was open to
 * others, and narrows what an older Gantry (or a loose umask) left wider. Two deliberate exceptions stay:
 * a tree the local scheduler handed to the replicas' group (its group is not the server's: a virtualenv
 * or volume a sandboxed replica reads) keeps group read and search, and `tls/` keeps its certificates
 * public (pem-files.ts).
 */

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Trees whose writers set 0700/0600 on every entry themselves, and which may hold millions of files. */
const SELF_GUARDED = new Set(['blobs', 'multipart', 'files', 'tls']);

export interface DataDirReport {
  /** The directory's mode before, when group or others could read, write or enter it. */
  wasOpen?: number;
  /** How many entries had their mode narrowed. */
  narrowed: number;
}

/** Creates `dir` 0700 (or narrows it), and narrows every entry below but the self-guarded trees. */
export function secureDataDir(dir: string): DataDirReport {
  ensurePrivateDirSync(dir);
  const before = statSync(dir).mode & 0o777;
  let narrowed = 0;
  if (before !== PRIVATE_DIR_MODE) {
    chmodSync(dir, PRIVATE_DIR_MODE);
    narrowed++;
  }
  for (const entry of readdirSync(dir)) {
    if (!SELF_GUARDED.has(entry)) narrowed += narrowTree(path.join(dir, entry));
  }
  return { ...((before & 0o077) !== 0 ? { wasOpen: before } : {}), narrowed };
}

/** mkdir -p with every directory it creates (and `dir` itself) exactly 0700, whatever the umask. */
export function ensurePrivateDirSync(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return;
  for (let current = dir; ; current = path.dirname(current)) {
    chmodSync(current, PRIVATE_DIR_MODE);
    if (current === first || path.dirname(current) === current) return;
  }
}

/**
 * The mode an entry of the data directory should have, given its current one. `sharedWithGroup`: its
 * group is one the server handed it to, whose read (and search) bits stay; write bits never do.
 */
export function privateModeOf(mode: number, isDirectory: boolean, sharedWithGroup = false): number {
  const own = isDirectory || (mode & 0o100) !== 0 ? 0o700 : PRIVATE_FILE_MODE;
  return sharedWithGroup ? own | (mode & 0o050) : own;
}

/** Narrows `file` and, for a directory, everything below; symlinks are left alone. Counts the changes. */
export function narrowTree(file: string): number {
  const stats = lstatSync(file, { throwIfNoEntry: false });
  if (!stats || stats.isSymbolicLink()) return 0;
  let changed = 0;
  const wanted = privateModeOf(stats.mode, stats.isDirectory(), stats.gid !== process.getgid?.());
  if ((stats.mode & 0o777) !== wanted) {
    chmodSync(file, wanted);
    changed++;
  }
  if (!stats.isDirectory()) return changed;
  for (const entry of readdirSync(file)) changed += narrowTree(path.join(file, entry));
  return changed;
}

import { randomBytes } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  assertSafeBlobName,
  BlobNameConflictError,
  blobNameProblem,
  InvalidBlobNameError,
  RESERVED_SEGMENT_PREFIX,
} from '../blob-name.js';
import { BlobTooLargeError, type BlobInfo, type BlobStore, type BlobWriteOptions } from '../blob-store.js';

/** Temporary files live here, inside the root, so the final rename never crosses a filesystem. */
const TEMP_DIR = `${RESERVED_SEGMENT_PREFIX}tmp`;

/**
 * A temp file untouched this long belongs to a write that died (kill -9 mid-upload). An active write keeps
 * bumping its file's mtime, so this never removes one that is still running.
 */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** How often a write retries when a concurrent delete pruned the directory it had just created. */
const MOVE_ATTEMPTS = 3;

/**
 * Blobs as files under a local directory: blob `a/b.txt` is `<root>/a/b.txt`, so a volume's files can be
 * mounted as they are. A write streams into a temp file, fsyncs it, renames it over the target and fsyncs
 * the directory: a write that resolved survives kill -9, and readers see the old file or the new one,
 * never a part. Directories are 0700 and files 0600; the root is created on first use.
 */
export class DirectoryBlobStore implements BlobStore {
  readonly root: string;
  private ready: Promise<string> | undefined;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** A Readable source is consumed, and destroyed when the write fails (Node's `for await` semantics). */
  async write(name: string, source: Readable | Buffer, options: BlobWriteOptions = {}): Promise<BlobInfo> {
    const target = this.pathOf(name);
    const release = holdSourceErrors(source);
    try {
      return await this.writeVia(await this.prepare(), target, name, source, options);
    } finally {
      release();
    }
  }

  async read(name: string): Promise<{ info: BlobInfo; stream: Readable } | undefined> {
    const handle = await openIfExists(this.pathOf(name));
    if (!handle) return undefined;
    try {
      // Stat the open handle, not the path: a concurrent rename cannot make size and content disagree.
      const stats = await handle.stat();
      if (stats.isFile()) return { info: infoOf(name, stats), stream: handle.createReadStream() };
    } catch (err) {
      await handle.close();
      throw err;
    }
    await handle.close();
    return undefined;
  }

  async stat(name: string): Promise<BlobInfo | undefined> {
    const stats = await statIfExists(this.pathOf(name));
    return stats?.isFile() ? infoOf(name, stats) : undefined;
  }

  async delete(name: string): Promise<boolean> {
    const file = this.pathOf(name);
    try {
      await unlink(file);
    } catch (err) {
      // EISDIR (Linux) and EPERM (macOS) mean the name is a directory, which is not a blob.
      if (isMissing(err) || hasCode(err, 'EISDIR', 'EPERM')) return false;
      throw err;
    }
    await syncDirectory(path.dirname(file));
    await this.pruneEmptyParents(path.dirname(file));
    return true;
  }

  /**
   * A hard link: every write replaces a file (temp file renamed over it) and never changes one in place,
   * so the link keeps the content it had. Where the filesystem has no hard links, the bytes are copied.
   */
  async copy(from: string, to: string): Promise<BlobInfo | undefined> {
    const source = this.pathOf(from);
    const target = this.pathOf(to);
    const temp = path.join(await this.prepare(), randomBytes(12).toString('hex'));
    try {
      await link(source, temp);
    } catch (err) {
      if (isMissing(err)) return undefined;
      if (hasCode(err, 'EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP')) return this.copyBytes(from, to);
      throw err;
    }
    return this.linkIntoPlace(temp, target, to);
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    const start = startDirectory(prefix);
    if (start === undefined) return [];
    const names = (await this.walk(start)).filter((name) => name.startsWith(prefix));
    const infos = await Promise.all(names.map((name) => this.stat(name)));
    return infos.filter((info): info is BlobInfo => info !== undefined).sort(byName);
  }

  /**
   * Where blob `name` lives on this machine: its file, or, for a prefix such as `pantry/0`, the directory
   * holding the blobs under `pantry/0/`. Volume mounts bind it as it is. Validated like every name; the
   * path may not exist yet.
   */
  localPath(name: string): string {
    return this.pathOf(name);
  }

  /** The file for `name`; refuses any name that could leave the root (defence in depth behind the edge). */
  private pathOf(name: string): string {
    assertSafeBlobName(name);
    const file = path.join(this.root, ...name.split('/'));
    if (!file.startsWith(this.root + path.sep)) throw new InvalidBlobNameError(name, 'it resolves outside the store');
    return file;
  }

  /** Creates the root and temp directory once, and clears temp files left by writes that died. */
  private prepare(): Promise<string> {
    this.ready ??= this.createDirectories().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private async createDirectories(): Promise<string> {
    const tempDir = path.join(this.root, TEMP_DIR);
    await mkdir(tempDir, { recursive: true, mode: 0o700 });
    await removeStaleFiles(tempDir, Date.now() - STALE_TEMP_MS);
    return tempDir;
  }

  private async moveIntoPlace(temp: string, target: string, name: string): Promise<void> {
    const dir = path.dirname(target);
    for (let attempt = 1; ; attempt++) {
      try {
        const firstCreated = await mkdir(dir, { recursive: true, mode: 0o700 });
        await rename(temp, target);
        await syncNewEntries(dir, firstCreated);
        return;
      } catch (err) {
        if (hasCode(err, 'ENOENT') && attempt < MOVE_ATTEMPTS) continue;
        if (hasCode(err, 'EEXIST', 'ENOTDIR', 'EISDIR', 'ENOTEMPTY')) throw new BlobNameConflictError(name);
        throw err;
      }
    }
  }

  private async linkIntoPlace(temp: string, target: string, name: string): Promise<BlobInfo> {
    try {
      const stats = await stat(temp);
      await this.moveIntoPlace(temp, target, name);
      return infoOf(name, stats);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  private async copyBytes(from: string, to: string): Promise<BlobInfo | undefined> {
    const found = await this.read(from);
    return found && this.write(to, found.stream);
  }

  private async writeVia(
    tempDir: string,
    target: string,
    name: string,
    source: Readable | Buffer,
    options: BlobWriteOptions,
  ): Promise<BlobInfo> {
    const temp = path.join(tempDir, randomBytes(12).toString('hex'));
    try {
      const written = await writeDurably(temp, source, options.maxBytes ?? Number.POSITIVE_INFINITY);
      await this.moveIntoPlace(temp, target, name);
      return { name, size: written.size, lastModified: written.mtime.toISOString() };
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** Removes directories a delete left empty, up to (not including) the root. */
  private async pruneEmptyParents(dir: string): Promise<void> {
    for (let current = dir; current.startsWith(this.root + path.sep); current = path.dirname(current)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): everything above it is in use too
      }
    }
  }

  /** Names of the files under the directory of blob name `relative` (the root for ''), recursively. */
  private async walk(relative: string): Promise<string[]> {
    const dir = relative === '' ? this.root : path.join(this.root, ...relative.split('/'));
    const entries = await readdirIfExists(dir);
    const nested = await Promise.all(entries.map((entry) => this.walkEntry(relative, entry)));
    return nested.flat();
  }

  private async walkEntry(relative: string, entry: Dirent): Promise<string[]> {
    const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
    // Reserved entries (temp files) and anything no write could have produced are not blobs.
    if (blobNameProblem(name) !== undefined) return [];
    if (entry.isDirectory()) return this.walk(name);
    return entry.isFile() ? [name] : [];
  }
}

/**
 * Until the copy starts iterating the source (after the temp directory is ready), an 'error' it emits would
 * have no listener and crash the process. This listener only holds the place: the iteration then rethrows
 * the stored error, so the write still fails with it.
 */
function holdSourceErrors(source: Readable | Buffer): () => void {
  if (Buffer.isBuffer(source)) return () => {};
  const ignore = (): void => {};
  source.on('error', ignore);
  return () => source.off('error', ignore);
}

async function writeDurably(file: string, source: Readable | Buffer, maxBytes: number): Promise<{ size: number; mtime: Date }> {
  const handle = await open(file, 'wx', 0o600);
  try {
    const size = await copyInto(handle, source, maxBytes);
    await handle.sync();
    return { size, mtime: (await handle.stat()).mtime };
  } finally {
    await handle.close();
  }
}

async function copyInto(handle: FileHandle, source: Readable | Buffer, maxBytes: number): Promise<number> {
  let size = 0;
  for await (const raw of Buffer.isBuffer(source) ? [source] : source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : (raw as Uint8Array);
    size += chunk.length;
    // Checked before writing, so an oversized source never lands on disk past the limit.
    if (size > maxBytes) throw new BlobTooLargeError(maxBytes);
    await writeAll(handle, chunk);
  }
  return size;
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let offset = 0; offset < chunk.length; ) {
    offset += (await handle.write(chunk, offset)).bytesWritten;
  }
}

/**
 * After a rename into `dir`, fsyncs `dir`; when `mkdir` created directories (the first being
 * `firstCreated`), also fsyncs each new directory's parent, which holds its entry.
 */
async function syncNewEntries(dir: string, firstCreated: string | undefined): Promise<void> {
  await syncDirectory(dir);
  if (firstCreated === undefined) return;
  for (let current = dir; current !== path.dirname(firstCreated); current = path.dirname(current)) {
    await syncDirectory(path.dirname(current));
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function removeStaleFiles(dir: string, olderThanMs: number): Promise<void> {
  for (const entry of await readdirIfExists(dir)) {
    const file = path.join(dir, entry.name);
    const stats = await statIfExists(file);
    if (stats && stats.mtimeMs < olderThanMs) await rm(file, { force: true });
  }
}

/** The directory (as a blob name prefix) a listing of `prefix` can start from; undefined if none can match. */
function startDirectory(prefix: string): string | undefined {
  const cut = prefix.lastIndexOf('/');
  if (cut === -1) return '';
  const dir = prefix.slice(0, cut);
  // Every name under `prefix` contains `dir` as whole segments, so an unsafe `dir` matches nothing.
  return blobNameProblem(dir) === undefined ? dir : undefined;
}

async function openIfExists(file: string): Promise<FileHandle | undefined> {
  try {
    return await open(file, 'r');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function statIfExists(file: string): Promise<Stats | undefined> {
  try {
    return await stat(file);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function readdirIfExists(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

function infoOf(name: string, stats: Stats): BlobInfo {
  return { name, size: stats.size, lastModified: stats.mtime.toISOString() };
}

function byName(a: BlobInfo, b: BlobInfo): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** ENOENT, or ENOTDIR when a path component is a file: either way there is no blob there. */
function isMissing(err: unknown): boolean {
  return hasCode(err, 'ENOENT', 'ENOTDIR');
}

function hasCode(err: unknown, ...codes: string[]): boolean {
  return err instanceof Error && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

import { closeSync, copyFileSync, openSync, readSync, statSync, truncateSync } from 'node:fs';

/**
 * A replica's output file and its one rotated predecessor.
 *
 * The replica writes to `output.log` itself (O_APPEND, the descriptor the server passed), so the server
 * cannot cut lines on the way in. Rotation is logrotate's "copytruncate": when the file passes the cap,
 * copy it to `output.log.1` and truncate it to zero; the replica's appends continue at the new end. Disk use
 * stays near twice the cap, the newest lines are kept, and lines written in the instant between the copy
 * and the truncate are lost (a bounded, rare loss we accept for never touching the replica).
 */
export function rotateIfLarge(logPath: string, capBytes: number): boolean {
  const size = fileSize(logPath);
  if (size === undefined || size <= capBytes) return false;
  copyFileSync(logPath, `${logPath}.1`);
  truncateSync(logPath, 0);
  return true;
}

/** The last `count` lines of a replica's output (for crash messages). */
export function readLastLines(logPath: string, count: number, maxBytes = 16_384): string[] {
  const size = fileSize(logPath) ?? 0;
  const start = Math.max(0, size - maxBytes);
  const lines = splitLines(readRange(logPath, start, size));
  if (start > 0) lines.shift(); // the first line was cut by the byte window
  return lines.filter((l) => l.length > 0).slice(-count);
}

/**
 * Reads a log file incrementally: all that is kept first (rotated file, then current), then what was
 * appended since the last read. A file that shrank was rotated: the rest of what we had not read is at the
 * same offset in `.1`.
 */
export class LogTail {
  private offset: number | undefined;
  private rotatedStamp: string | undefined;
  private partial: Buffer = Buffer.alloc(0);

  constructor(private readonly logPath: string) {}

  /**
   * New lines since the last read. `all` includes a trailing partial line; `complete` holds it back;
   * `if-idle` holds it back unless nothing new came since the last read (a line printed without a newline
   * by a process that then went quiet or died still shows up, one poll later).
   */
  read(mode: 'all' | 'complete' | 'if-idle'): string[] {
    const chunks = this.offset === undefined ? this.firstRead() : this.nextRead(this.offset);
    const fresh = chunks.some((c) => c.length > 0);
    const data = Buffer.concat([this.partial, ...chunks]);
    const flush = mode === 'all' || (mode === 'if-idle' && !fresh);
    const end = flush ? data.length : data.lastIndexOf(0x0a) + 1;
    this.partial = data.subarray(end);
    return splitLines(data.subarray(0, end));
  }

  private firstRead(): Buffer[] {
    const size = fileSize(this.logPath) ?? 0;
    this.offset = size;
    this.rotatedStamp = stamp(this.rotatedPath());
    return [readRange(this.rotatedPath(), 0, fileSize(this.rotatedPath()) ?? 0), readRange(this.logPath, 0, size)];
  }

  /** A changed `.1` means a rotation since the last read, even when the new file has grown past our offset. */
  private nextRead(offset: number): Buffer[] {
    const size = fileSize(this.logPath) ?? 0;
    const rotated = stamp(this.rotatedPath());
    const wasRotated = rotated !== this.rotatedStamp || size < offset;
    this.offset = size;
    this.rotatedStamp = rotated;
    if (!wasRotated) return [readRange(this.logPath, offset, size)];
    return [readRange(this.rotatedPath(), offset, fileSize(this.rotatedPath()) ?? 0), readRange(this.logPath, 0, size)];
  }

  private rotatedPath(): string {
    return `${this.logPath}.1`;
  }
}

function stamp(file: string): string | undefined {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
}

function splitLines(data: Buffer): string[] {
  if (data.length === 0) return [];
  const text = data.toString('utf8');
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function fileSize(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}

function readRange(file: string, start: number, end: number): Buffer {
  if (end <= start) return Buffer.alloc(0);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const buffer = Buffer.alloc(end - start);
    const read = readSync(fd, buffer, 0, buffer.length, start);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

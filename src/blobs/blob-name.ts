/**
 * Blob names are `/`-separated relative paths (`<request_id>-out.png`, `<volume>/<version>/<relpath>`).
 * The same rule guards the HTTP edge (so a client hears what is wrong) and every BlobStore (so a name that
 * slipped past the edge still cannot leave the store's root).
 */

/** Longest name in UTF-8 bytes. */
export const MAX_BLOB_NAME_BYTES = 1024;

/** Longest single segment in UTF-8 bytes: the usual filesystem limit (NAME_MAX). */
export const MAX_BLOB_SEGMENT_BYTES = 255;

/**
 * Segments starting with this are reserved for a store's own bookkeeping (temporary files), so no blob can
 * collide with them and no listing can show them.
 */
export const RESERVED_SEGMENT_PREFIX = '.gantry-';

// C0 controls, DEL and C1 controls; NUL is among them.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// A lone surrogate cannot be encoded as UTF-8: the name on disk would differ from the name asked for.
const LONE_SURROGATE = /\p{Cs}/u;

/** The name was refused; `reason` says what is wrong with it. */
export class InvalidBlobNameError extends Error {
  override readonly name = 'InvalidBlobNameError';
  constructor(
    readonly blobName: string,
    readonly reason: string,
  ) {
    super(`invalid blob name ${JSON.stringify(blobName)}: ${reason}`);
  }
}

/** What is wrong with `name`, or undefined when it is a safe blob name. */
export function blobNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (Buffer.byteLength(name) > MAX_BLOB_NAME_BYTES) return `it is longer than ${MAX_BLOB_NAME_BYTES} bytes`;
  if (name.startsWith('/')) return 'it starts with "/" (names are relative paths)';
  if (name.includes('\\')) return 'it contains a backslash (use "/" between directories)';
  if (CONTROL.test(name)) return 'it contains a control character (NUL, newline, tab …)';
  if (LONE_SURROGATE.test(name)) return 'it contains an unpaired UTF-16 surrogate';
  return name.split('/').map(segmentProblem).find((problem) => problem !== undefined);
}

function segmentProblem(segment: string, index: number): string | undefined {
  const where = `path segment ${index + 1}`;
  if (segment === '') return `${where} is empty (two "/" in a row, or a trailing "/")`;
  if (segment === '.' || segment === '..') return `${where} is "${segment}"`;
  if (segment.startsWith(RESERVED_SEGMENT_PREFIX)) return `${where} starts with the reserved "${RESERVED_SEGMENT_PREFIX}"`;
  if (Buffer.byteLength(segment) > MAX_BLOB_SEGMENT_BYTES) return `${where} is longer than ${MAX_BLOB_SEGMENT_BYTES} bytes`;
  return undefined;
}

/** Throws `InvalidBlobNameError` unless `name` is a safe blob name. */
export function assertSafeBlobName(name: string): void {
  const problem = blobNameProblem(name);
  if (problem !== undefined) throw new InvalidBlobNameError(name, problem);
}

export function isInvalidBlobNameError(err: unknown): err is InvalidBlobNameError {
  return err instanceof Error && err.name === 'InvalidBlobNameError';
}

/**
 * The name cannot coexist with a blob already stored: one of them would have to be both a file and a
 * directory (`a` and `a/b`). Filesystem-shaped stores refuse it; flat key stores never raise it.
 */
export class BlobNameConflictError extends Error {
  override readonly name = 'BlobNameConflictError';
  constructor(readonly blobName: string) {
    super(`blob name ${JSON.stringify(blobName)} conflicts with a stored blob (a name cannot be both a file and a directory)`);
  }
}

export function isBlobNameConflictError(err: unknown): err is BlobNameConflictError {
  return err instanceof Error && err.name === 'BlobNameConflictError';
}

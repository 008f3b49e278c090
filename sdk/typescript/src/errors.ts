/**
 * The SDK's failure vocabulary. Guards check `name`, not `instanceof`, so they hold across copies of the
 * package.
 */

/**
 * The job is no longer this worker's: the server canceled it (`code` GANTRY_ERR_JOB_CANCELED), its claim
 * was lost or it already ended (GANTRY_ERR_JOB_NOT_HELD), or the HTTP client went away (no code).
 */
export class JobCanceledError extends Error {
  override readonly name = 'JobCanceledError';

  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** `predict` ran longer than TERMINATION_GRACE_PERIOD_SECONDS - 1 seconds. */
export class PredictTimeoutError extends Error {
  override readonly name = 'PredictTimeoutError';
}

/** Bad options given to `run()`, bad process arguments or a bad environment variable. */
export class SprocketConfigError extends Error {
  override readonly name = 'SprocketConfigError';

  /** The process exit status `run()` uses: 2 for bad arguments (as argparse), else 1. */
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

export function isJobCanceledError(err: unknown): err is JobCanceledError {
  return err instanceof Error && err.name === 'JobCanceledError';
}

export function isPredictTimeoutError(err: unknown): err is PredictTimeoutError {
  return err instanceof Error && err.name === 'PredictTimeoutError';
}

/** The job handed out could not be decoded (its body is not JSON); it is failed with this, not run. */
export class UndecodableJobError extends Error {
  override readonly name = 'UndecodableJobError';
}

/** How an error is reported in a failed job's `info.error`: `Name: message`. Never throws. */
export function describeError(err: unknown): string {
  try {
    if (err instanceof Error) return `${err.name}: ${err.message}`;
    return `Error: ${String(err)}`;
  } catch {
    return 'Error: (a thrown value that cannot be shown as text)';
  }
}

/** `info.error` at most this many bytes of JSON, well inside the server's 4096-byte limit on `info`. */
export const MAX_ERROR_BYTES = 2000;

/** `describeError(err)` cut to MAX_ERROR_BYTES bytes of JSON (ending with `…` when cut). */
export function errorText(err: unknown): string {
  const text = describeError(err);
  if (jsonBytes(text) <= MAX_ERROR_BYTES) return text;
  let cut = text.slice(0, MAX_ERROR_BYTES);
  while (jsonBytes(`${cut}…`) > MAX_ERROR_BYTES) cut = cut.slice(0, Math.floor((cut.length * 3) / 4));
  return `${cut.replace(/[\uD800-\uDBFF]$/, '')}…`;
}

function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text));
}

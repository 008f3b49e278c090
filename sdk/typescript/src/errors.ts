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

/** How an error is reported in a failed job's `info.error`: `Name: message`. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `Error: ${String(err)}`;
}

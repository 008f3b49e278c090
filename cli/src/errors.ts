/**
 * The CLI's failure vocabulary. `main.ts` prints every one of them as `Jig: Failed <message>` and exits 1
 * (compat.md §1.1); nothing else reaches the user as a stack trace unless TOGETHER_DEBUG is set.
 */

/** An actionable failure with a message meant for the user (the original's JigError). */
export class JigError extends Error {
  override name = 'JigError';
  constructor(
    message: string,
    /** Process exit code (default: 1). */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** A failure the launcher reports before any command runs; printed as is, without the `Jig: Failed` prefix. */
export class LauncherError extends JigError {
  override name = 'LauncherError';
}

/** A non-2xx answer from the API; `message` is the body's `error` string or `error.message`. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** The server could not be reached at all (refused, DNS, TLS). */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}

/**
 * The one error registry. Every error that reaches a client is an `AppError` created from a code in
 * `ERRORS`; the single error handler (`api/plugins/error-handler.ts`) turns it into the wire format.
 * Tests assert `code`, never the wording.
 */

/** OpenAI/Together-style error `type` strings carried on the wire. */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'request_too_large'
  | 'unsupported_media_type'
  | 'server_error'
  | 'service_unavailable';

interface ErrorDefinition {
  status: number;
  type: ErrorType;
}

const def = (status: number, type: ErrorType): ErrorDefinition => ({ status, type });

export const ERRORS = {
  GANTRY_ERR_REQUEST_INVALID: def(400, 'invalid_request_error'),
  GANTRY_ERR_REQUEST_MALFORMED_JSON: def(400, 'invalid_request_error'),
  GANTRY_ERR_REQUEST_TOO_LARGE: def(413, 'request_too_large'),
  /** JSON nested deeper than the limit (64 levels of objects and arrays). */
  GANTRY_ERR_REQUEST_TOO_DEEP: def(400, 'invalid_request_error'),
  /** A URL that is not valid percent-encoding, or a proxied path with `.`/`..` segments. */
  GANTRY_ERR_REQUEST_BAD_URL: def(400, 'invalid_request_error'),
  /** A path parameter longer than the router allows. */
  GANTRY_ERR_REQUEST_URL_TOO_LONG: def(414, 'request_too_large'),
  /** Request headers over the server's size limit. */
  GANTRY_ERR_REQUEST_HEADERS_TOO_LARGE: def(431, 'request_too_large'),
  /** Not a valid HTTP/1.1 request (framing, header syntax), refused before routing. */
  GANTRY_ERR_REQUEST_MALFORMED_HTTP: def(400, 'invalid_request_error'),
  /** The request (headers or body) did not arrive in time. */
  GANTRY_ERR_REQUEST_TIMEOUT: def(408, 'invalid_request_error'),
  GANTRY_ERR_REQUEST_MEDIA_TYPE: def(415, 'unsupported_media_type'),
  GANTRY_ERR_ROUTE_NOT_FOUND: def(404, 'not_found_error'),
  GANTRY_ERR_METHOD_NOT_ALLOWED: def(405, 'invalid_request_error'),
  GANTRY_ERR_AUTH_MISSING_KEY: def(401, 'authentication_error'),
  GANTRY_ERR_AUTH_INVALID_KEY: def(401, 'authentication_error'),
  GANTRY_ERR_AUTH_FORBIDDEN: def(403, 'permission_error'),
  GANTRY_ERR_AUTH_WRONG_DEPLOYMENT: def(403, 'permission_error'),
  /** This key may not name a local project directory (x_gantry_source): see GANTRY_SOURCE_ROOTS. */
  GANTRY_ERR_SOURCE_FORBIDDEN: def(403, 'permission_error'),
  GANTRY_ERR_KEY_NOT_FOUND: def(404, 'not_found_error'),
  GANTRY_ERR_SECRET_NOT_FOUND: def(404, 'not_found_error'),
  GANTRY_ERR_SECRET_EXISTS: def(400, 'invalid_request_error'),
  /** A stored secret failed to decrypt: wrong encryption key, or the record was altered. */
  GANTRY_ERR_SECRET_UNREADABLE: def(500, 'server_error'),
  GANTRY_ERR_STORAGE_BAD_FILENAME: def(400, 'invalid_request_error'),
  GANTRY_ERR_STORAGE_NOT_FOUND: def(404, 'not_found_error'),
  GANTRY_ERR_STORAGE_BAD_SIGNATURE: def(403, 'permission_error'),
  GANTRY_ERR_STORAGE_URL_EXPIRED: def(403, 'permission_error'),
  GANTRY_ERR_STORAGE_URL_USED: def(403, 'permission_error'),
  /** A volume file URL whose deployment or volume version no longer exists. */
  GANTRY_ERR_STORAGE_URL_REVOKED: def(403, 'permission_error'),
  GANTRY_ERR_STORAGE_UPLOAD_NOT_FOUND: def(404, 'not_found_error'),
  GANTRY_ERR_STORAGE_PARTS_INVALID: def(400, 'invalid_request_error'),
  GANTRY_ERR_STORAGE_FILE_TOO_LARGE: def(413, 'request_too_large'),
  GANTRY_ERR_STORAGE_OWNED_ELSEWHERE: def(403, 'permission_error'),
  GANTRY_ERR_STORAGE_NOT_JOB_OUTPUT: def(403, 'permission_error'),
  /** The filename needs a stored file to be a directory, or the reverse (`a` and `a/b`). */
  GANTRY_ERR_STORAGE_NAME_CONFLICT: def(409, 'conflict_error'),
  GANTRY_ERR_VOLUME_NOT_FOUND: def(404, 'not_found_error'),
  /** The vendor CLI matches "already exists" in the message (compat-source.md §B.11). */
  GANTRY_ERR_VOLUME_EXISTS: def(400, 'invalid_request_error'),
  /** A mount names a version the volume does not have: the deployment request is wrong, hence 400. */
  GANTRY_ERR_VOLUME_VERSION_NOT_FOUND: def(400, 'invalid_request_error'),
  /** Deleting a volume that a deployment still mounts (any version). */
  GANTRY_ERR_VOLUME_IN_USE: def(409, 'conflict_error'),
  GANTRY_ERR_DEPLOYMENT_NOT_FOUND: def(404, 'not_found_error'),
  /** The message contains "already exists": the vendor CLI matches that text (compat.md §8.23). */
  GANTRY_ERR_DEPLOYMENT_EXISTS: def(400, 'invalid_request_error'),
  /** The spec cannot run on this server's scheduler (an image on the embedded default, volumes without bwrap). */
  GANTRY_ERR_DEPLOYMENT_UNSUPPORTED: def(400, 'invalid_request_error'),
  GANTRY_ERR_DEPLOYMENT_NO_REPLICA: def(503, 'service_unavailable'),
  GANTRY_ERR_DEPLOYMENT_PROXY: def(502, 'server_error'),
  GANTRY_ERR_JOB_NOT_FOUND: def(404, 'not_found_error'),
  /** Cancel of a job that is no longer pending; the body carries `{"status": <current>}` (compat.md §8.4). */
  GANTRY_ERR_JOB_NOT_CANCELABLE: def(409, 'conflict_error'),
  /** A status update from a worker that no longer holds the job's claim. */
  GANTRY_ERR_JOB_NOT_HELD: def(409, 'conflict_error'),
  /** A worker's update for a job canceled while it ran (`x_gantry_running`): the worker should stop. */
  GANTRY_ERR_JOB_CANCELED: def(409, 'conflict_error'),
  GANTRY_ERR_JOB_INFO_TOO_LARGE: def(400, 'invalid_request_error'),
  GANTRY_ERR_JOB_PAYLOAD_TOO_LARGE: def(413, 'request_too_large'),
  GANTRY_ERR_REGISTRY_NOT_CONFIGURED: def(404, 'not_found_error'),
  GANTRY_ERR_STATE_CONFLICT: def(409, 'conflict_error'),
  GANTRY_ERR_INTERNAL: def(500, 'server_error'),
  GANTRY_ERR_UNAVAILABLE: def(503, 'service_unavailable'),
  /** Queue or worker traffic on a replica that does not lead and knows no leader to forward to: retry shortly. */
  GANTRY_ERR_NOT_LEADER: def(503, 'service_unavailable'),
  /** A follower could not reach the leader it forwards to. */
  GANTRY_ERR_LEADER_UNREACHABLE: def(502, 'server_error'),
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERRORS;

export interface AppErrorOptions {
  /** The request field the error is about, as a dotted path (`environment_variables.2.name`). */
  param?: string;
  cause?: unknown;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | null;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.status = ERRORS[code].status;
    this.type = ERRORS[code].type;
    this.param = options.param ?? null;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof Error && err.name === 'AppError';
}

/** Shorthand used at call sites: `throw appError('GANTRY_ERR_SECRET_NOT_FOUND', ...)`. */
export function appError(code: ErrorCode, message: string, options?: AppErrorOptions): AppError {
  return new AppError(code, message, options);
}

import { readFile } from 'node:fs/promises';
import { decodeRetrieveBody, type ClaimedJob } from './job-decode.js';
import { isObject } from './json.js';
import type { Logger } from './log.js';
import type { ResolvedOptions } from './options.js';
import { backoffMs, isRetryableStatus, pause, retryAfterMs } from './retry.js';
import type { FileOutput } from './sprocket.js';
import type { JsonObject } from './types.js';

export type { ClaimedJob } from './job-decode.js';

/**
 * The codes with which Gantry says a job is no longer this worker's: canceled while it ran, claim lost
 * (or the job already ended), or the job is gone.
 */
export const REFUSAL_CODES: ReadonlySet<string> = new Set(['GANTRY_ERR_JOB_CANCELED', 'GANTRY_ERR_JOB_NOT_HELD', 'GANTRY_ERR_JOB_NOT_FOUND']);

/** The server no longer holds the job for this worker (one of REFUSAL_CODES). */
export interface Refusal {
  /** The server's error code, one of REFUSAL_CODES. */
  code: string;
  message: string;
}

/** Any other 4xx: the update itself was refused, and repeating it cannot help. */
export interface Rejection {
  rejected: true;
  /** `HTTP <status>: <body>`, for the log and for a job failed because of it. */
  detail: string;
}

/**
 * What a status update came to: accepted (exactly 200), refused (a `Refusal`), rejected (a `Rejection`),
 * or `failed`: not delivered within its retry window.
 */
export type UpdateOutcome = 'ok' | 'failed' | Refusal | Rejection;

export function isRefusal(outcome: UpdateOutcome): outcome is Refusal {
  return typeof outcome === 'object' && 'code' in outcome;
}

export type JobStatus = 'running' | 'done' | 'failed';

/** How one status update is retried. */
export interface RetryOptions {
  /** How long to keep retrying, in ms (default: the terminal window, GANTRY_SPROCKET_STATUS_RETRY_SECONDS). */
  windowMs?: number;
  /** How long one attempt may take, in ms (default 30 s). */
  attemptTimeoutMs?: number;
  /** Aborted: no further attempt after the one in flight. */
  stopRetrying?: AbortSignal;
}

/** A retrieve answered with an HTTP status other than 200. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';

  constructor(
    message: string,
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

export const SDK_VERSION = '0.1.0';

const TRANSPORT_RETRIES = 2;
/** A terminal update's attempt gives up on an answer after this long. */
const ATTEMPT_TIMEOUT_MS = 30_000;
/** The worker asks the server to hold a retrieve up to 5 s; an answer that takes this long will not come. */
const RETRIEVE_TIMEOUT_MS = 60_000;

/** One attempt's result: settled, or why not and how long the server asked to wait. */
type Attempt = { settled: UpdateOutcome } | { detail: string; retryAfterMs?: number };

/**
 * The worker side of Gantry's internal API: retrieve (long poll), status updates and output uploads.
 * Every internal call carries the worker's key; the key never appears in a log line or an error.
 */
export class WorkerApi {
  constructor(
    private readonly options: ResolvedOptions,
    private readonly log: Logger,
  ) {}

  /** One long poll (`timeout=5s`); undefined when no job came. Throws on a transport or HTTP error. */
  async retrieve(idleSeconds: number): Promise<ClaimedJob | undefined> {
    const o = this.options;
    const query = new URLSearchParams({ timeout: '5s', model: o.name, hostname: o.hostname, claim_timeout: String(o.claimTimeoutSeconds) });
    const res = await this.fetch(`${o.apiBase}/internal/v1/queue/retrieve?${query}`, {
      headers: { ...this.headers(), 'x-idle-time': idleSeconds.toFixed(3) },
      signal: AbortSignal.timeout(RETRIEVE_TIMEOUT_MS),
    });
    if (res.status !== 200) {
      const message = `retrieve answered HTTP ${res.status}: ${await bodyText(res)}`;
      throw new HttpStatusError(message, res.status, retryAfterMs(res.headers.get('retry-after')));
    }
    return decodeRetrieveBody(await res.text());
  }

  /**
   * Posts a status update until it is settled or its window passes, with exponential backoff and jitter
   * between attempts (at least what `Retry-After` asks). Settled: 200, a refusal, or another 4xx.
   */
  async postStatus(requestId: string, status: JobStatus, payload: JsonObject = {}, info?: JsonObject, retry: RetryOptions = {}): Promise<UpdateOutcome> {
    const body = JSON.stringify({ model: this.options.name, request_id: requestId, status, payload, ...(info ? { info } : {}) });
    const what = `status update "${status}" for job ${requestId}`;
    const deadline = performance.now() + (retry.windowMs ?? this.options.statusRetryMs);
    for (let failures = 1; ; failures++) {
      const timeoutMs = Math.ceil(Math.max(1_000, Math.min(retry.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS, deadline - performance.now())));
      const attempt = await this.tryStatus(what, body, timeoutMs);
      if ('settled' in attempt) return attempt.settled;
      const left = deadline - performance.now();
      if (left <= 0 || retry.stopRetrying?.aborted) return 'failed';
      const wait = Math.min(left, Math.max(backoffMs(failures), attempt.retryAfterMs ?? 0));
      this.log.warn(`${what} failed (${attempt.detail}); retrying in ${seconds(wait)} s, for ${seconds(left)} s more`);
      if (!(await pause(wait, retry.stopRetrying))) return 'failed';
    }
  }

  /** Uploads one output file; returns the URL the job reports (`{API_BASE}/v1/storage/<filename>`). */
  async uploadFile(requestId: string, file: FileOutput): Promise<string> {
    const filename = `${requestId}-${file.name}`;
    const res = await this.fetch(`${this.options.apiBase}/v1/storage/upload-request`, {
      method: 'POST',
      headers: this.headers(),
      body: JSON.stringify({ filename }),
    });
    if (res.status !== 200) throw new Error(`upload-request for ${file.path} answered HTTP ${res.status}: ${await bodyText(res)}`);
    const url = uploadUrlOf(await res.json());
    const put = await this.fetch(url, { method: 'PUT', body: await readFile(file.path) });
    if (!put.ok) throw new Error(`upload of ${file.path} answered HTTP ${put.status}: ${await bodyText(put)}`);
    return `${this.options.apiBase}/v1/storage/${filename}`;
  }

  private async tryStatus(what: string, body: string, timeoutMs: number): Promise<Attempt> {
    let res: Response;
    try {
      const init = { method: 'POST', headers: this.headers(), body, signal: AbortSignal.timeout(timeoutMs) };
      res = await this.fetch(`${this.options.apiBase}/internal/v1/videos/status`, init);
    } catch (err) {
      return { detail: (err as Error).message };
    }
    if (res.status === 200) return { settled: 'ok' };
    const text = await bodyText(res);
    const refusal = refusalOf(res.status, text);
    if (refusal) {
      this.log.warn(`${what} refused (HTTP ${res.status}): ${refusal.message}`);
      return { settled: refusal };
    }
    const code = errorCodeOf(text);
    if (isRetryableStatus(res.status)) return { detail: `HTTP ${res.status}${code ? ` ${code}` : ''}`, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) };
    const detail = `HTTP ${res.status}: ${text}`;
    this.log.error(`${what} was refused with ${detail}; not retrying`);
    return { settled: { rejected: true, detail } };
  }

  private headers(): Record<string, string> {
    const o = this.options;
    const headers: Record<string, string> = {
      authorization: `Bearer ${o.apiKey ?? 'None'}`,
      'content-type': 'application/json',
      'user-agent': `node/${process.version} sprocket-ts/${SDK_VERSION} ${o.name}/${o.version || 'unknown'}`,
    };
    if (o.version) headers['x-worker-version'] = o.version;
    return headers;
  }

  /** fetch with up to 2 retries of connection failures (never of an HTTP status), like the vendor's transport. */
  private async fetch(url: string, init: RequestInit): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetch(url, init);
      } catch (err) {
        if (attempt >= TRANSPORT_RETRIES) throw new Error(`${init.method ?? 'GET'} ${withoutQuery(url)}: ${causeOf(err)}`);
      }
    }
  }
}

/** A refusal in Gantry's error format `{"error": {"message", "code", ...}}`: a 404/409 with one of REFUSAL_CODES. */
function refusalOf(status: number, text: string): Refusal | undefined {
  const error = errorOf(text);
  if ((status !== 404 && status !== 409) || !error || typeof error.code !== 'string' || !REFUSAL_CODES.has(error.code)) return undefined;
  return { code: error.code, message: typeof error.message === 'string' ? error.message : error.code };
}

function errorCodeOf(text: string): string | undefined {
  const code = errorOf(text)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errorOf(text: string): Record<string, unknown> | undefined {
  try {
    const error = (JSON.parse(text) as { error?: unknown }).error;
    return isObject(error) ? error : undefined;
  } catch {
    return undefined;
  }
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

function uploadUrlOf(body: unknown): string {
  const uploadUrl = isObject(body) ? body.upload_url : undefined;
  const url = isObject(uploadUrl) ? uploadUrl.url : undefined;
  if (typeof url !== 'string') throw new Error('upload-request answered without upload_url.url');
  return url;
}

async function bodyText(res: Response): Promise<string> {
  return (await res.text().catch(() => '')).slice(0, 500);
}

function withoutQuery(url: string): string {
  return url.split('?')[0]!;
}

function causeOf(err: unknown): string {
  const e = err as Error & { cause?: { message?: string; code?: string } };
  return e.cause?.message ?? e.cause?.code ?? e.message;
}

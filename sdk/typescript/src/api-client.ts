import { readFile } from 'node:fs/promises';
import { isObject } from './json.js';
import type { Logger } from './log.js';
import type { ResolvedOptions } from './options.js';
import type { FileOutput } from './sprocket.js';
import type { JsonObject } from './types.js';

/**
 * The codes with which Gantry says a job is no longer this worker's: canceled while it ran, claim lost
 * (or the job already ended), or the job is gone. Any other refusal (a 409 state conflict, a 404 route)
 * counts as a failed attempt.
 */
export const REFUSAL_CODES: ReadonlySet<string> = new Set(['GANTRY_ERR_JOB_CANCELED', 'GANTRY_ERR_JOB_NOT_HELD', 'GANTRY_ERR_JOB_NOT_FOUND']);

/** The server no longer holds the job for this worker (one of REFUSAL_CODES). */
export interface Refusal {
  /** The server's error code, one of REFUSAL_CODES. */
  code: string;
  message: string;
}

/** What a status update came to: accepted (exactly 200), refused (a `Refusal`), or failed after 3 attempts. */
export type UpdateOutcome = 'ok' | 'failed' | Refusal;

export type JobStatus = 'running' | 'done' | 'failed';

/** A job as handed out by retrieve: at least `request_id` and `payload` (compat.md §3.5). */
export interface ClaimedJob {
  request_id: string;
  payload: unknown;
}

export const SDK_VERSION = '0.1.0';

const STATUS_ATTEMPTS = 3;
const TRANSPORT_RETRIES = 2;

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
    });
    if (res.status !== 200) throw new Error(`retrieve answered HTTP ${res.status}: ${await bodyText(res)}`);
    const body: unknown = await res.json();
    if (!isObject(body)) throw new Error(`retrieve answered a non-object: ${JSON.stringify(body).slice(0, 200)}`);
    return toJob(body.data);
  }

  /** Posts a status update; up to 3 attempts, except that a 404 or 409 is final at once. */
  async postStatus(requestId: string, status: JobStatus, payload: JsonObject = {}, info?: JsonObject): Promise<UpdateOutcome> {
    const body = JSON.stringify({ model: this.options.name, request_id: requestId, status, payload, ...(info ? { info } : {}) });
    for (let attempt = 1; attempt <= STATUS_ATTEMPTS; attempt++) {
      const outcome = await this.tryStatus(requestId, status, body);
      if (outcome !== 'failed') return outcome;
    }
    this.log.error(`status update "${status}" for job ${requestId} failed after ${STATUS_ATTEMPTS} attempts`);
    return 'failed';
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

  private async tryStatus(requestId: string, status: JobStatus, body: string): Promise<UpdateOutcome> {
    try {
      const res = await this.fetch(`${this.options.apiBase}/internal/v1/videos/status`, { method: 'POST', headers: this.headers(), body });
      if (res.status === 200) return 'ok';
      const text = await bodyText(res);
      const refusal = refusalOf(text);
      if (refusal) {
        this.log.warn(`status update "${status}" for job ${requestId} refused (HTTP ${res.status}): ${refusal.message}`);
        return refusal;
      }
      this.log.warn(`status update "${status}" for job ${requestId} answered HTTP ${res.status}: ${text}`);
    } catch (err) {
      this.log.warn(`status update "${status}" for job ${requestId} failed: ${(err as Error).message}`);
    }
    return 'failed';
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

function toJob(data: unknown): ClaimedJob | undefined {
  if (!isObject(data)) return undefined;
  if (typeof data.request_id !== 'string' || data.request_id === '') throw new Error('retrieve handed out a job without a request_id');
  return { request_id: data.request_id, payload: data.payload };
}

/** A refusal in Gantry's error format `{"error": {"message", "code", ...}}` with one of REFUSAL_CODES. */
function refusalOf(text: string): Refusal | undefined {
  let error: unknown;
  try {
    error = (JSON.parse(text) as { error?: unknown }).error;
  } catch {
    return undefined;
  }
  if (!isObject(error) || typeof error.code !== 'string' || !REFUSAL_CODES.has(error.code)) return undefined;
  return { code: error.code, message: typeof error.message === 'string' ? error.message : error.code };
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

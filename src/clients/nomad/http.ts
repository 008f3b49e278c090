import type { Readable } from 'node:stream';
import type { AxiosResponse } from 'axios';
import { cleanUrl } from '../clean.js';
import { OutboundTransport, TransportError } from '../transport.js';
import { UnexpectedResponseErrorBase } from '../unexpected-response.js';

/** How to reach a Nomad agent (the CLI's NOMAD_* settings, hashicorp.md §1.1). */
export interface NomadClientOptions {
  /** `http(s)://host:4646`. */
  address: string;
  /** ACL token, sent as `X-Nomad-Token` (default: none). */
  token?: string | undefined;
  /** Namespace of every call (default: default). */
  namespace?: string | undefined;
  /** Region of every call (default: the agent's). */
  region?: string | undefined;
  /** PEM CA bundle to verify the agent with, and a PEM client certificate and key for mutual TLS. */
  tls?: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined } | undefined;
  /** Retries of transient failures (default: 4 attempts, 200 ms doubling to 5 s, full jitter). */
  retry?: { attempts: number; baseMs: number; maxMs: number };
  /** Timeout of a non-blocking request in ms (default: 30000). */
  timeoutMs?: number;
  /** Waits between retries (tests make it instant). */
  sleep?: (ms: number) => Promise<void>;
}

/** Options of a read (hashicorp.md §1.1): `index` + `waitMs` make it a blocking query. */
export interface QueryOptions {
  index?: number;
  waitMs?: number;
  params?: Record<string, string>;
  signal?: AbortSignal;
}

export interface QueryMeta {
  /** `X-Nomad-Index`: pass it as the next blocking query's `index`. */
  lastIndex: number;
}

export interface Result<T> {
  data: T;
  meta: QueryMeta;
}

/** Any non-2xx answer, or no answer at all (status 0). The body is Nomad's plain-text error. */
export class UnexpectedResponseError extends UnexpectedResponseErrorBase {
  constructor(method: string, url: string, status: number, body: string, options?: { cause?: unknown }) {
    super(method, url, status, body, `Nomad ${method} ${url}: ${status === 0 ? 'no answer' : `${status}`}: ${body.trim().slice(0, 500)}`, options);
  }
}

export const isNomadError = (err: unknown, status?: number): err is UnexpectedResponseError =>
  err instanceof UnexpectedResponseError && (status === undefined || err.status === status);

/** Register or scale lost a race with another writer (hashicorp.md §6.2): re-read and try again. */
export const isEnforceIndexConflict = (err: unknown): boolean => isNomadError(err) && err.body.includes('Enforcing job modify index');

/** `/scale` during an active deployment (hashicorp.md §1.7). */
export const isScaleBlocked = (err: unknown): boolean => isNomadError(err, 400) && err.body.includes('scaling blocked due to active deployment');

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED', 'ENOTFOUND', 'EHOSTUNREACH']);

/**
 * The transient causes worth retrying (hashicorp.md §6.3): no connection, 429 (connection cap), 502-504,
 * and the 500s of a leaderless cluster. Every other 5xx (validation, index conflicts) is final.
 */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof UnexpectedResponseError)) return false;
  if (err.status === 0) return TRANSIENT_CODES.has(err.cause instanceof TransportError ? (err.cause.code ?? '') : '');
  if ([429, 502, 503, 504].includes(err.status)) return true;
  return err.status === 500 && /No cluster leader|rpc error: EOF/.test(err.body);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Go duration for `wait` (milliseconds, which Nomad accepts: `300000ms`). */
const goMs = (ms: number) => `${Math.max(1, Math.round(ms))}ms`;

/**
 * The one transport under the resource files (Nomad's `api.Client`): token, namespace and region on every
 * call, `X-Nomad-Index` in every result, one error type, and retries decided here and nowhere else.
 * Requests go through the shared `OutboundTransport`: a failure without an answer is a `TransportError`
 * (no token in it), carried as the `cause` of a status-0 `UnexpectedResponseError`.
 */
export class NomadHttp {
  private readonly transport: OutboundTransport;
  private readonly retry: NonNullable<NomadClientOptions['retry']>;

  constructor(private readonly options: NomadClientOptions) {
    this.transport = new OutboundTransport({
      baseUrl: options.address,
      headers: options.token ? { 'X-Nomad-Token': options.token } : {},
      ...(options.tls ? { tls: options.tls } : {}),
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    this.retry = options.retry ?? { attempts: 4, baseMs: 200, maxMs: 5000 };
  }

  get namespace(): string {
    return this.options.namespace ?? 'default';
  }

  /** A read; blocking when `q.index` is set. */
  async get<T>(path: string, q: QueryOptions = {}): Promise<Result<T>> {
    const blocking = q.index !== undefined && q.index > 0;
    const waitMs = Math.min(q.waitMs ?? 300_000, 300_000);
    const params = { ...q.params, ...(blocking ? { index: String(q.index), wait: goMs(waitMs) } : {}) };
    // The server may add up to wait/16 of jitter; the client waits a little longer than that (§6.7).
    const timeout = blocking ? Math.ceil(waitMs * 1.07) + 10_000 : undefined;
    return this.send<T>('GET', path, { params, signal: q.signal, timeout });
  }

  async write<T>(method: 'POST' | 'DELETE', path: string, body?: unknown, params: Record<string, string> = {}): Promise<Result<T>> {
    return this.send<T>(method, path, { body, params });
  }

  /** A streaming GET (logs): the response body as a stream, after a 2xx. */
  async stream(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<Readable> {
    const res = await this.attempt<Readable>('GET', path, { params, signal, responseType: 'stream' });
    return res.data;
  }

  private async send<T>(method: string, path: string, o: SendOptions): Promise<Result<T>> {
    const res = await this.attempt<T>(method, path, o);
    return { data: res.data, meta: { lastIndex: Number(res.headers['x-nomad-index'] ?? 0) } };
  }

  private async attempt<T>(method: string, path: string, o: SendOptions): Promise<AxiosResponse<T>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(method, path, o);
      } catch (err) {
        if (attempt >= this.retry.attempts || !isTransient(err) || o.signal?.aborted) throw err;
        const cap = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** (attempt - 1));
        await (this.options.sleep ?? defaultSleep)(Math.random() * cap);
      }
    }
  }

  private async once<T>(method: string, path: string, o: SendOptions): Promise<AxiosResponse<T>> {
    const params = { ...this.scope(), ...o.params };
    let res: AxiosResponse;
    try {
      const timeout = o.timeout ?? this.options.timeoutMs ?? 30_000;
      res = await this.transport.request({ method, url: path, params, data: o.body, signal: o.signal, timeout, responseType: o.responseType ?? 'json' });
    } catch (err) {
      const cause = err as TransportError;
      throw new UnexpectedResponseError(method, cleanUrl(path), 0, cause.message, { cause });
    }
    if (res.status >= 200 && res.status < 300) return res as AxiosResponse<T>;
    throw new UnexpectedResponseError(method, cleanUrl(path), res.status, await bodyText(res.data));
  }

  private scope(): Record<string, string> {
    return { ...(this.options.namespace ? { namespace: this.options.namespace } : {}), ...(this.options.region ? { region: this.options.region } : {}) };
  }
}

interface SendOptions {
  body?: unknown;
  params?: Record<string, string>;
  signal?: AbortSignal | undefined;
  timeout?: number | undefined;
  responseType?: 'json' | 'stream';
}

/** The text of an error body, whatever axios made of it (a string, parsed JSON, or a stream). */
async function bodyText(data: unknown): Promise<string> {
  if (typeof data === 'string') return data;
  if (data && typeof (data as Readable).pipe === 'function') {
    const chunks: Buffer[] = [];
    for await (const chunk of data as Readable) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }
  return JSON.stringify(data ?? '');
}

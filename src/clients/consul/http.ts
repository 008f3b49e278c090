import { readFileSync } from 'node:fs';
import type { AxiosResponse } from 'axios';
import { sleep } from '../../shared/sleep.js';
import { cleanUrl } from '../clean.js';
import { OutboundTransport, type TransportOptions } from '../transport.js';
import { UnexpectedResponseErrorBase } from '../unexpected-response.js';

/**
 * The one transport of the Consul client (STYLE.md rule 7): every call returns `{ data, meta }`, any
 * unexpected status becomes an `UnexpectedResponseError`, and retries are decided here, from a table of
 * causes that mean "the request was not applied", never by the resource methods. Requests go through the
 * shared `OutboundTransport`, so a failure without an answer is a `TransportError` with no token in it.
 */

export interface ConsulClientOptions {
  /** `CONSUL_HTTP_ADDR` as a URL, e.g. `https://consul.service:8501`. */
  address: string;
  /** ACL token sent as `X-Consul-Token` (`CONSUL_HTTP_TOKEN`). */
  token?: string;
  /** Datacenter for every call (`?dc=`); default: the agent's own. */
  datacenter?: string;
  /** PEM CA bundle to verify the agent's certificate (`CONSUL_CACERT`). */
  caFile?: string;
  /** PEM client certificate and key for mTLS (`CONSUL_CLIENT_CERT`, `CONSUL_CLIENT_KEY`). */
  certFile?: string;
  keyFile?: string;
  /** Timeout of a non-blocking call, ms (default: 10000). */
  timeoutMs?: number;
  /** Attempts for a call that failed with a transient cause (default: 4). */
  attempts?: number;
}

export interface QueryOptions {
  /** Blocking query: return once the result's index passes this one. */
  index?: number;
  /** Longest a blocking query waits, Go duration (`30s`); Consul's default is 5m. */
  wait?: string;
  signal?: AbortSignal;
}

export interface QueryMeta {
  /** `X-Consul-Index`: the next blocking query's `index` (0 when absent). */
  lastIndex: number;
  knownLeader: boolean;
}

export interface Response<T> {
  data: T;
  status: number;
  meta: QueryMeta;
}

export interface RequestSpec {
  method: 'GET' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Raw bytes (KV values) or a JSON-serializable body. */
  body?: Buffer | unknown;
  /** Statuses that are answers rather than errors (default: 200). */
  ok?: number[];
  options?: QueryOptions;
}

/** A status Consul was not expected to answer. The url holds no token (tokens travel in a header). */
export class UnexpectedResponseError extends UnexpectedResponseErrorBase {
  constructor(method: string, url: string, status: number, body: string) {
    super(method, url, status, body, `consul ${method} ${url}: ${status} ${body.trim().slice(0, 300)}`);
  }
}

export class ConsulHttp {
  private readonly transport: OutboundTransport;
  private readonly attempts: number;

  constructor(private readonly options: ConsulClientOptions) {
    this.attempts = options.attempts ?? 4;
    this.transport = new OutboundTransport({
      baseUrl: options.address,
      headers: options.token ? { 'X-Consul-Token': options.token } : {},
      tls: tlsFiles(options),
      timeoutMs: options.timeoutMs ?? 10_000,
    });
  }

  async request<T>(spec: RequestSpec): Promise<Response<T>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(spec);
      } catch (err) {
        if (attempt >= this.attempts || !isTransient(err) || spec.options?.signal?.aborted) throw err;
        await sleep(backoffMs(attempt), spec.options?.signal);
      }
    }
  }

  /** Aborts pending keep-alive sockets. */
  close(): void {
    this.transport.close();
  }

  private async once<T>(spec: RequestSpec): Promise<Response<T>> {
    const raw = Buffer.isBuffer(spec.body);
    const res = await this.transport.request<Buffer>({
      method: spec.method,
      url: spec.path,
      params: this.params(spec),
      data: spec.body === undefined ? undefined : raw ? spec.body : JSON.stringify(spec.body),
      headers: { 'Content-Type': raw ? 'application/octet-stream' : 'application/json' },
      responseType: 'arraybuffer',
      timeout: timeoutOf(spec.options, this.options.timeoutMs ?? 10_000),
      signal: spec.options?.signal,
    });
    const text = Buffer.from(res.data).toString('utf8');
    if (!(spec.ok ?? [200]).includes(res.status)) {
      throw new UnexpectedResponseError(spec.method, cleanUrl(spec.path), res.status, text);
    }
    return { data: parseBody<T>(res, text), status: res.status, meta: metaOf(res) };
  }

  private params(spec: RequestSpec): Record<string, string> {
    const params: Record<string, string> = {};
    if (this.options.datacenter) params.dc = this.options.datacenter;
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined && v !== false) params[k] = v === true ? '' : String(v);
    if (spec.options?.index !== undefined) params.index = String(Math.max(1, spec.options.index));
    if (spec.options?.wait) params.wait = spec.options.wait;
    return params;
  }
}

function tlsFiles(options: ConsulClientOptions): NonNullable<TransportOptions['tls']> {
  return {
    ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}),
    ...(options.certFile ? { cert: readFileSync(options.certFile) } : {}),
    ...(options.keyFile ? { key: readFileSync(options.keyFile) } : {}),
  };
}

/** A blocking query may be held for `wait` plus jitter (wait/16): allow for it and then some. */
function timeoutOf(options: QueryOptions | undefined, base: number): number {
  if (!options?.index) return base;
  const waitMs = parseWaitMs(options.wait ?? '5m');
  return Math.ceil(waitMs * 1.1) + base;
}

function parseWaitMs(wait: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(wait);
  if (!match) throw new TypeError(`wait must look like 500ms, 30s or 5m, got "${wait}"`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
}

function parseBody<T>(res: AxiosResponse, text: string): T {
  const type = String(res.headers['content-type'] ?? '');
  if (type.includes('json') && text !== '') return JSON.parse(text) as T;
  return text as T;
}

function metaOf(res: AxiosResponse): QueryMeta {
  const index = Number(res.headers['x-consul-index'] ?? 0);
  return { lastIndex: Number.isFinite(index) ? index : 0, knownLeader: res.headers['x-consul-knownleader'] === 'true' };
}

/**
 * Causes that mean the request was not applied, so repeating it is safe even for a write: the agent could
 * not be reached, it sheds load (429), or the servers have no leader (503, or 500 "No cluster leader").
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof UnexpectedResponseError) {
    return err.status === 429 || err.status === 503 || (err.status === 500 && /no cluster leader/i.test(err.body));
  }
  const code = (err as { code?: string }).code;
  return code === 'ECONNREFUSED' || code === 'EAI_AGAIN' || code === 'ENOTFOUND';
}

function backoffMs(attempt: number): number {
  const base = Math.min(2_000, 100 * 2 ** (attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}


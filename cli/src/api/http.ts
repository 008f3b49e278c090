import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { ApiError, ConnectionError } from '../errors.js';

export interface HttpClientOptions {
  /** e.g. https://127.0.0.1:8443/v1; request paths are appended to it. */
  baseUrl: string;
  apiKey: string;
  /** Extra CA certificate (PEM) to trust, e.g. the embedded server's local CA. */
  ca?: string;
  /** Per-request timeout (default: 300 s, the uploader's). */
  timeoutMs?: number;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/**
 * A small JSON-over-HTTPS client on node:https (light to load, so `jig status` starts fast). Every non-2xx
 * answer becomes one ApiError whose message is the body's `error` or `error.message`, as the original
 * prints it; a failure to connect becomes a ConnectionError naming the server. The key goes only to the
 * API base, never into an error.
 */
export class HttpClient {
  private readonly agent: http.Agent;

  constructor(private readonly options: HttpClientOptions) {
    const secure = options.baseUrl.startsWith('https:');
    this.agent = secure ? new https.Agent({ keepAlive: true, ...(options.ca ? { ca: options.ca } : {}) }) : new http.Agent({ keepAlive: true });
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  async json<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const res = await this.send(method, this.url(path, query), this.headers(body), body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
    if (res.status < 200 || res.status >= 300) throw apiError(res);
    const text = res.body.toString('utf8');
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** A GET read as NDJSON: each non-empty line is parsed and handed to `onLine` until the stream ends. */
  async stream(path: string, query: Query, onLine: (value: unknown) => void, signal?: AbortSignal): Promise<void> {
    const res = await this.open('GET', this.url(path, query), this.headers(undefined), undefined, signal);
    if ((res.statusCode ?? 0) >= 300) throw apiError({ status: res.statusCode ?? 0, headers: res.headers, body: await readAll(res) });
    let buffered = '';
    for await (const chunk of res) {
      buffered += (chunk as Buffer).toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line.trim()) onLine(JSON.parse(line));
    }
    if (buffered.trim()) onLine(JSON.parse(buffered));
  }

  /** A request to an absolute URL without the API key (signed upload URLs). */
  async raw(method: string, url: string, headers: Record<string, string>, body: Buffer): Promise<RawResponse> {
    return this.send(method, url, { ...headers, 'content-length': String(body.length) }, body);
  }

  private url(path: string, query?: Query): string {
    const url = new URL(`${this.options.baseUrl}${path}`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  private headers(body: unknown): Record<string, string> {
    return {
      authorization: `Bearer ${this.options.apiKey}`,
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    };
  }

  private async send(method: string, url: string, headers: Record<string, string>, body: Buffer | undefined): Promise<RawResponse> {
    const res = await this.open(method, url, headers, body);
    return { status: res.statusCode ?? 0, headers: res.headers, body: await readAll(res) };
  }

  private open(method: string, url: string, headers: Record<string, string>, body?: Buffer, signal?: AbortSignal): Promise<IncomingMessage> {
    const target = new URL(url);
    const lib = target.protocol === 'https:' ? https : http;
    const agent = target.origin === new URL(this.options.baseUrl).origin ? this.agent : undefined;
    return new Promise((resolve, reject) => {
      const req = lib.request(target, { method, headers, agent, timeout: this.options.timeoutMs ?? 300_000, ...(signal ? { signal } : {}) }, resolve);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${(this.options.timeoutMs ?? 300_000) / 1000}s`)));
      req.on('error', (err) => reject(connectionError(err, target)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

function connectionError(err: Error & { code?: string }, target: URL): Error {
  if (err.name === 'AbortError') return err;
  const reason = err.code ? `${err.code}${err.message && !err.message.includes(err.code) ? ` (${err.message})` : ''}` : err.message;
  return new ConnectionError(`Cannot reach ${target.origin}: ${reason}`);
}

function apiError(res: RawResponse): ApiError {
  const text = res.body.toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the text itself is the message
  }
  return new ApiError(res.status, errorMessage(body, res.status), body);
}

/** `error` when it is a string, else `error.message`, else the whole body (compat.md §1.1). */
function errorMessage(body: unknown, status: number): string {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return error;
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return message;
  const whole = typeof body === 'string' ? body : JSON.stringify(body);
  return whole || `HTTP ${status}`;
}

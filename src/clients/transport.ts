import http from 'node:http';
import https from 'node:https';
import axios, { isAxiosError, type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { cleanText, cleanUrl, credentialValues } from './clean.js';

/**
 * The one outbound HTTP transport of the HashiCorp clients (Consul, Nomad, and node-vault through
 * `vaultRequester`), on axios. It exists so that one place decides what an error may carry: axios errors
 * hold the request config (headers: `X-Consul-Token`, `X-Nomad-Token`, `X-Vault-Token`), the Node request
 * (its raw header text) and the response; a logger serializes all of that, past any redaction path. No
 * error leaves `request()` but a `TransportError`, which holds the method, the url without credentials,
 * the status and the error code, and whose message has every credential of this transport blanked.
 */
export interface TransportOptions {
  /** `http(s)://host:port`; userinfo in it is sent as basic auth and never appears in an error. */
  baseUrl: string;
  /** Headers on every request: the credential header lives here (`X-Consul-Token`). */
  headers?: Record<string, string>;
  /** PEM CA bundle, client certificate and key (mutual TLS). */
  tls?: { ca?: string | Buffer | undefined; cert?: string | Buffer | undefined; key?: string | Buffer | undefined };
  /** Timeout of a request without its own, ms (default: 30000). */
  timeoutMs?: number;
}

/** A request failed without an answer (refused, reset, timed out, aborted): cleaned of credentials. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly method: string,
    readonly url: string,
    /** `ECONNREFUSED`, `ECONNABORTED`, `ERR_CANCELED`, … when known. */
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export class OutboundTransport {
  private readonly axios: AxiosInstance;
  private readonly secrets: string[];

  constructor(private readonly options: TransportOptions) {
    const { baseUrl, auth } = splitUserinfo(options.baseUrl);
    this.secrets = secretsOf(options, auth);
    this.axios = axios.create({
      baseURL: baseUrl,
      headers: { ...options.headers },
      ...(auth ? { auth } : {}),
      validateStatus: () => true,
      maxContentLength: Infinity,
      maxBodyLength: Infinity,
      transitional: { clarifyTimeoutError: true },
      httpAgent: new http.Agent({ keepAlive: true }),
      httpsAgent: new https.Agent({ keepAlive: true, ...definedOnly(options.tls ?? {}) }),
    });
  }

  /**
   * Any status resolves (the client decides what is an error); only a failure to get one rejects. The
   * body of an error status has the request's credentials blanked, in case something on the way (a proxy,
   * a debug endpoint) echoed the request: clients put that body into their errors.
   */
  async request<T>(config: AxiosRequestConfig): Promise<AxiosResponse<T>> {
    let res: AxiosResponse<T>;
    try {
      res = await this.axios.request<T>({ timeout: this.options.timeoutMs ?? 30_000, ...config });
    } catch (err) {
      throw this.clean(err, config);
    }
    if (res.status >= 300) res.data = scrubBody(await drained(res.data), this.secretsFor(config)) as T;
    return res;
  }

  /** Ends idle keep-alive sockets. */
  close(): void {
    (this.axios.defaults.httpAgent as http.Agent).destroy();
    (this.axios.defaults.httpsAgent as https.Agent).destroy();
  }

  private clean(err: unknown, config: AxiosRequestConfig): TransportError {
    const method = (config.method ?? 'GET').toUpperCase();
    const url = cleanUrl(config.url ?? '');
    const code = isAxiosError(err) ? err.code : (err as NodeJS.ErrnoException | undefined)?.code;
    const message = cleanText(err instanceof Error ? err.message : String(err), this.secretsFor(config));
    return new TransportError(`${method} ${url}: ${message}`, method, url, code);
  }

  /** This transport's credentials and the request's own (node-vault sets `X-Vault-Token` per request). */
  private secretsFor(config: AxiosRequestConfig): string[] {
    return [...this.secrets, ...credentialValues(config.headers), ...credentialsOf(config)];
  }
}

/** An error status's body as text when axios left it a stream (a streaming request): error bodies are short. */
async function drained(data: unknown): Promise<unknown> {
  if (data === null || typeof data !== 'object' || typeof (data as { pipe?: unknown }).pipe !== 'function') return data;
  const chunks: Buffer[] = [];
  for await (const chunk of data as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** A body as axios gave it (text, bytes or parsed JSON) with `secrets` blanked. */
function scrubBody(data: unknown, secrets: string[]): unknown {
  if (typeof data === 'string') return cleanText(data, secrets);
  if (Buffer.isBuffer(data)) return Buffer.from(cleanText(data.toString('utf8'), secrets));
  if (data instanceof ArrayBuffer) return Buffer.from(cleanText(Buffer.from(data).toString('utf8'), secrets));
  if (data === null || typeof data !== 'object') return data;
  const json = JSON.stringify(data);
  const cleaned = cleanText(json, secrets);
  return cleaned === json ? data : (JSON.parse(cleaned) as unknown);
}

/** `https://user:pass@host` → the url without them, and them as basic auth. */
function splitUserinfo(address: string): { baseUrl: string; auth?: { username: string; password: string } } {
  const trimmed = address.replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    return { baseUrl: trimmed };
  }
  if (!parsed.username && !parsed.password) return { baseUrl: trimmed };
  const auth = { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
  parsed.username = '';
  parsed.password = '';
  return { baseUrl: parsed.toString().replace(/\/+$/, ''), auth };
}

/** Every credential this transport sends: header values, basic-auth parts. */
function secretsOf(options: TransportOptions, auth: { username: string; password: string } | undefined): string[] {
  return [...Object.values(options.headers ?? {}), auth?.username ?? '', auth?.password ?? ''];
}

/** Per-request basic auth. */
function credentialsOf(config: AxiosRequestConfig): string[] {
  return config.auth ? [config.auth.username, config.auth.password] : [];
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { JobCanceledError } from './errors.js';
import type { Logger } from './log.js';
import type { JsonObject } from './types.js';

export interface WorkerServerDeps {
  predictPath: string;
  isHealthy(): boolean;
  isBusy(): boolean;
  /** Runs one direct job; `isBusy()` must turn true before it first awaits. */
  runDirect(payload: unknown, controller: AbortController): Promise<JsonObject>;
  log: Logger;
}

/** Largest direct-request body (the queue's own payload limit is 1 MiB; a direct call may carry more). */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * The worker's HTTP server (compat.md §3.3): `/health`, `/metrics` and the predict route. One job at a
 * time: a predict while another job runs (from the queue or HTTP) answers 503 `Worker is busy`.
 */
export function createWorkerServer(deps: WorkerServerDeps): Server {
  return createServer((req, res) => {
    route(deps, req, res).catch((err: unknown) => {
      deps.log.error('request failed', err);
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
    });
  });
}

async function route(deps: WorkerServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  const routes: Record<string, [string[], () => Promise<void> | void]> = {
    '/health': [['GET', 'HEAD'], () => health(deps, res)],
    '/metrics': [['GET', 'HEAD'], () => metrics(deps, res)],
    [deps.predictPath]: [['POST'], () => predict(deps, req, res)],
  };
  const found = path !== undefined ? routes[path] : undefined;
  if (!found) return sendJson(res, 404, { error: `Not Found: ${path}` });
  if (!found[0].includes(method)) return sendJson(res, 405, { error: `Method Not Allowed: ${method} ${path} (allowed: ${found[0].join(', ')})` });
  await found[1]();
}

function health(deps: WorkerServerDeps, res: ServerResponse): void {
  if (deps.isHealthy()) sendJson(res, 200, { status: 'healthy' });
  else sendJson(res, 503, { status: 'unhealthy' });
}

/** Exactly `requests_inflight 1.0` or `requests_inflight 0.0`: no HELP/TYPE lines, no newline. */
function metrics(deps: WorkerServerDeps, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`requests_inflight ${deps.isBusy() ? '1.0' : '0.0'}`);
}

async function predict(deps: WorkerServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  if (body === undefined) return sendJson(res, 413, { error: `request body is over ${MAX_BODY_BYTES} bytes` });
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return sendJson(res, 400, { error: `request body is not valid JSON: ${(err as Error).message}` });
  }
  if (!deps.isHealthy()) return sendJson(res, 503, { error: 'Worker is not ready' });
  if (deps.isBusy()) return sendJson(res, 503, { error: 'Worker is busy' });
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new JobCanceledError('the client closed the request'));
  });
  try {
    sendJson(res, 200, await deps.runDirect(payload, controller));
  } catch (err) {
    if (!controller.signal.aborted) deps.log.error('request failed', err);
    sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
  }
}

/** The body, or undefined when it is over MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

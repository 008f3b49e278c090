import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface RecordedStatus {
  body: { request_id: string; status: string; payload: Record<string, unknown>; info?: Record<string, unknown> };
  /** performance.now() when it arrived. */
  at: number;
}

/**
 * A stand-in for Gantry's worker API over real HTTP: `GET /internal/v1/queue/retrieve` hands out the
 * queued jobs in order (a job object, or a raw body exactly as the worker is to receive it) and answers
 * `{"data": null}` after a short long poll otherwise; `POST /internal/v1/videos/status` records the
 * update and answers 200, or the refusal set for that job in Gantry's error shape. `stop()` closes the
 * listener and every connection (a worker's requests are then refused); `listen()` comes back on the
 * same port with the same state.
 */
export class StandInGantry {
  readonly jobs: (Record<string, unknown> | string)[] = [];
  readonly updates: RecordedStatus[] = [];
  /** Every request, in order of arrival: which route, and when (performance.now()). */
  readonly events: { kind: 'retrieve' | 'status'; at: number }[] = [];
  /** request_id → [HTTP status, error code] with which every status update of that job is answered. */
  readonly refusals = new Map<string, [number, string]>();
  retrieves = 0;
  port = 0;
  private server: Server | undefined;

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens (on a free port the first time, on the same port after `stop()`). */
  async listen(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this;
  }

  /** Closes the listener and every open connection. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
  }

  submit(requestId: string, payload: unknown): void {
    this.jobs.push({ request_id: requestId, model: 'm', payload, info: {}, priority: 1, retries: 0 });
  }

  /** The next retrieve answers exactly `body`. */
  submitRaw(body: string): void {
    this.jobs.push(body);
  }

  updatesFor(requestId: string): RecordedStatus['body'][] {
    return this.updates.filter((u) => u.body.request_id === requestId).map((u) => u.body);
  }

  /** The `done`/`failed` updates of a job, in order. */
  terminals(requestId: string): RecordedStatus['body'][] {
    return this.updatesFor(requestId).filter((u) => u.status !== 'running');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = (req.url ?? '').split('?')[0];
    if (path === '/internal/v1/queue/retrieve') return this.retrieve(res);
    if (path === '/internal/v1/videos/status') return this.status(JSON.parse(body) as RecordedStatus['body'], res);
    send(res, 404, { error: { message: `no route ${path}`, code: 'GANTRY_ERR_NOT_FOUND' } });
  }

  private async retrieve(res: ServerResponse): Promise<void> {
    this.retrieves++;
    this.events.push({ kind: 'retrieve', at: performance.now() });
    const job = this.jobs.shift();
    if (typeof job === 'string') return void res.writeHead(200, { 'content-type': 'application/json' }).end(job);
    if (!job) await new Promise((resolve) => setTimeout(resolve, 100));
    send(res, 200, { data: job ?? null });
  }

  private status(body: RecordedStatus['body'], res: ServerResponse): void {
    this.updates.push({ body, at: performance.now() });
    this.events.push({ kind: 'status', at: performance.now() });
    const refusal = this.refusals.get(body.request_id);
    if (!refusal) return send(res, 200, { status: 'ok' });
    send(res, refusal[0], { error: { message: `refused: ${refusal[1]}`, type: 'conflict_error', param: 'request_id', code: refusal[1] } });
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += (chunk as Buffer).toString();
  return body;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

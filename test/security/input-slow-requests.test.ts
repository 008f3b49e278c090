import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryScheduler } from '../doubles/memory-scheduler.js';
import { rawExchange } from '../helpers/raw-http.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

const MAX_UPLOAD = 1024 * 1024;

/** Issue 15 item 7: a client that stalls is cut, a declared oversize is refused at once, answers are not timed. */
describe('slow and oversized requests', () => {
  let server: TestServer;
  let port: number;
  let auth: string;
  const scheduler = new MemoryScheduler();
  beforeAll(async () => {
    server = await createTestServer({
      scheduler,
      env: {
        GANTRY_REQUEST_HEADERS_TIMEOUT_SECONDS: '2',
        GANTRY_REQUEST_BODY_IDLE_SECONDS: '3',
        GANTRY_REQUEST_TIMEOUT_SECONDS: '8',
        GANTRY_MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
      },
    });
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    port = (server.app.server.address() as AddressInfo).port;
    auth = server.auth.authorization;
    const deploy = { name: 'web', image: 'img', gpu_type: 'none', min_replicas: 1 };
    expect((await server.app.inject({ method: 'POST', url: '/v1/deployments', headers: server.auth, payload: deploy })).statusCode).toBe(200);
  });
  afterAll(async () => server.close());

  const submitHead = (length: number | 'chunked') =>
    `POST /v1/queue/submit HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nConnection: close\r\n` +
    (length === 'chunked' ? 'Transfer-Encoding: chunked\r\n\r\n' : `Content-Length: ${length}\r\n\r\n`);

  it('cuts a valid-key request whose body stops half way with 408, instead of holding it', async () => {
    const res = await rawExchange(port, [submitHead(100), '{"model":"web",'], 20_000);
    expect(res.closed).toBe(true);
    expect(res.status).toBe(408);
    expect(res.json().error.code).toBe('GANTRY_ERR_REQUEST_TIMEOUT');
  });

  it('cuts a chunked body that stops with 408', async () => {
    const res = await rawExchange(port, [submitHead('chunked'), '5\r\n{"mod\r\n'], 20_000);
    expect(res.closed).toBe(true);
    expect(res.status).toBe(408);
  });

  it('cuts a client that never finishes its headers with 408', async () => {
    const res = await rawExchange(port, ['POST /v1/queue/submit HTTP/1.1\r\nHost: x\r\n', { pauseMs: 1000 }, 'X-Slow: 1\r\n'], 20_000);
    expect(res.closed).toBe(true);
    expect(res.status).toBe(408);
    expect(res.json().error.code).toBe('GANTRY_ERR_REQUEST_TIMEOUT');
  });

  it('cuts a body that trickles for longer than the whole-request timeout', async () => {
    const drip = Array.from({ length: 40 }, () => [{ pauseMs: 500 }, ' ']).flat();
    const res = await rawExchange(port, [submitHead(1000), '{"model":"web",', ...drip], 30_000);
    expect(res.closed).toBe(true);
    expect(res.status).toBe(408);
  });

  it('accepts a body that arrives slowly but without a long pause', async () => {
    const body = JSON.stringify({ model: 'web', payload: { text: 'x'.repeat(80) } });
    const pieces = body.match(/.{1,16}/g)!.flatMap((piece) => [{ pauseMs: 400 }, piece]);
    const res = await rawExchange(port, [submitHead(Buffer.byteLength(body)), ...pieces], 8_000);
    expect(res.status).toBe(200);
    expect(res.text).toContain('"status":"pending"');
  });

  it('keeps a long poll open past every request timeout', async () => {
    // Drain the job submitted above, so the poll below waits its whole 10 s.
    await server.app.inject({ url: '/internal/v1/queue/retrieve?model=web&timeout=1s', headers: server.auth });
    const started = Date.now();
    const waited = await rawExchange(
      port,
      [`GET /internal/v1/queue/retrieve?model=web&timeout=10s HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`],
      30_000,
    );
    expect(waited.status).toBe(200);
    expect(waited.text).toContain('{"data":null}');
    expect(Date.now() - started).toBeGreaterThan(9_000);
  });

  it('keeps a log follow stream open past every request timeout', async () => {
    const { id } = (await server.app.inject({ url: '/v1/deployments/web', headers: server.auth })).json();
    const [replica] = await scheduler.replicas(id);
    scheduler.pushLogs(replica!.replicaId, ['first']);
    const stop = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/v1/deployments/web/logs?follow=true`, { headers: server.auth, signal: stop.signal });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('first');
    await new Promise((r) => setTimeout(r, 10_000));
    scheduler.pushLogs(replica!.replicaId, ['ten seconds later']);
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('ten seconds later');
    stop.abort();
  });

  it('keeps an idle keep-alive connection open past the headers timeout', async () => {
    const res = await rawExchange(port, ['GET /health HTTP/1.1\r\nHost: x\r\n\r\n'], 5_000);
    expect(res.status).toBe(200);
    expect(res.closed).toBe(false);
  });

  it.each([
    ['a JSON route', () => submitHead(50 * 1024 ** 3), 'GANTRY_ERR_REQUEST_TOO_LARGE'],
    ['a direct request to a deployment', () => proxyHead(MAX_UPLOAD + 1), 'GANTRY_ERR_REQUEST_TOO_LARGE'],
  ])('refuses a declared Content-Length over the limit on %s with 413 before the body', async (_name, head, code) => {
    const res = await rawExchange(port, [head()], 10_000);
    expect(res.closed).toBe(true);
    expect(res.ms).toBeLessThan(5_000);
    expect(res.status).toBe(413);
    expect(res.json().error).toMatchObject({ code, param: 'content-length' });
  });

  it('refuses a declared Content-Length over the largest upload on an upload URL with 413 before the body', async () => {
    const created = await server.app.inject({ method: 'POST', url: '/v1/storage/upload-request', headers: server.auth, payload: { filename: 'big.bin' } });
    const url = new URL(created.json().upload_url.url as string);
    const res = await rawExchange(port, [`PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: x\r\nContent-Length: ${MAX_UPLOAD + 1}\r\n\r\n`], 10_000);
    expect(res.closed).toBe(true);
    expect(res.status).toBe(413);
    expect(res.json().error.code).toBe('GANTRY_ERR_STORAGE_FILE_TOO_LARGE');
  });

  function proxyHead(length: number): string {
    return `POST /v1/deployment-request/web/upload HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Length: ${length}\r\n\r\n`;
  }

  it('stays healthy after all of it', async () => {
    expect((await server.app.inject({ url: '/health' })).statusCode).toBe(200);
  });
});

describe('plain HTTP sent to the HTTPS port of a server process', () => {
  let dataDir: string;
  let gantry: ServerProcess;
  let port: number;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-plain-'));
    gantry = await startServerProcess(dataDir, { GANTRY_REQUEST_HEADERS_TIMEOUT_SECONDS: '2' });
    port = Number(new URL(gantry.url).port);
  }, 60_000);
  afterAll(async () => {
    await gantry.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('gets a plain-HTTP 400 that says to use https, at once', async () => {
    const res = await rawExchange(port, ['GET /health HTTP/1.1\r\nHost: x\r\n\r\n'], 10_000);
    expect(res.closed).toBe(true);
    expect(res.ms).toBeLessThan(5_000);
    expect(res.status).toBe(400);
    expect(res.json().error.code).toBe('GANTRY_ERR_REQUEST_MALFORMED_HTTP');
    expect(res.json().error.message).toContain('https://');
  });

  it('closes a connection that never starts its TLS handshake', async () => {
    const res = await rawExchange(port, [], 20_000);
    expect(res.closed).toBe(true);
  });

  it('still serves HTTPS', async () => {
    expect((await gantry.fetch(`${gantry.url}/health`)).status).toBe(200);
  });
});

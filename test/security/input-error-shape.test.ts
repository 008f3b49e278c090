import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryScheduler } from '../doubles/memory-scheduler.js';
import { rawExchange } from '../helpers/raw-http.js';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

/** Issue 15 item 6: every refusal, the framework's own included, is `{"error": {…}}` with a GANTRY_ERR_ code. */
describe('framework-level refusals in the error shape', () => {
  let server: TestServer;
  let port: number;
  let upstream: Server;
  const seen: string[] = [];
  const scheduler = new MemoryScheduler();

  beforeAll(async () => {
    server = await createTestServer({ scheduler });
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    port = (server.app.server.address() as AddressInfo).port;
    upstream = createServer((req, res) => {
      seen.push(req.url!);
      res.end('{}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const body = { name: 'web', image: 'img', gpu_type: 'none', min_replicas: 1 };
    const { id } = (await server.app.inject({ method: 'POST', url: '/v1/deployments', headers: server.auth, payload: body })).json();
    const [replica] = await scheduler.replicas(id);
    scheduler.setReplica(replica!.replicaId, { address: { host: '127.0.0.1', port: (upstream.address() as AddressInfo).port } });
  });
  afterAll(async () => {
    await server.close();
    upstream.close();
  });

  const get = (url: string) => server.app.inject({ url, headers: server.auth });
  /** A GET whose path reaches the server byte for byte. */
  const rawGet = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: server.auth }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
  const expectShape = (body: string, status: number, actual: number, code: string) => {
    expect(actual).toBe(status);
    const { error } = JSON.parse(body);
    expect(error).toMatchObject({ code, message: expect.any(String), type: expect.any(String) });
    expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  };

  it.each(['/v1/deployments/%E0%A4%A', '/v1/deployments/%ZZ', '/v1/deployment-request/%E0%A4%A/x', '/v1/storage/a%ZZ'])(
    'answers bad percent-encoding in %s with 400 GANTRY_ERR_REQUEST_BAD_URL',
    async (url) => {
      const res = await get(url);
      expectShape(res.body, 400, res.statusCode, 'GANTRY_ERR_REQUEST_BAD_URL');
    },
  );

  it('answers a path parameter over the length limit with 414 naming the limit', async () => {
    const res = await get(`/v1/deployments/${'a'.repeat(500)}`);
    expectShape(res.body, 414, res.statusCode, 'GANTRY_ERR_REQUEST_URL_TOO_LONG');
    expect(res.json().error.message).toContain('100');
  });

  it.each([
    ['an unsupported content type', 'text/xml', '<a/>', 415, 'GANTRY_ERR_REQUEST_MEDIA_TYPE'],
    ['an empty JSON body', 'application/json', '', 400, 'GANTRY_ERR_REQUEST_MALFORMED_JSON'],
    ['invalid JSON', 'application/json', '{"model":', 400, 'GANTRY_ERR_REQUEST_MALFORMED_JSON'],
    ['a content type that is not one', '', '{}', 415, 'GANTRY_ERR_REQUEST_MEDIA_TYPE'],
  ])('answers %s in the error shape', async (_name, type, payload, status, code) => {
    const headers = { ...server.auth, ...(type ? { 'content-type': type } : { 'content-type': ';;' }) };
    const res = await server.app.inject({ method: 'POST', url: '/v1/queue/submit', headers, payload });
    expectShape(res.body, status, res.statusCode, code);
  });

  it.each(['a/%2E%2E/b', 'a/%2e%2e%2fb', '%2E%2E/etc/passwd', 'a/..%2Fb', 'a/%2E/b'])(
    'refuses the proxied path %s with 400 GANTRY_ERR_REQUEST_BAD_URL, forwarding nothing',
    async (path) => {
      seen.length = 0;
      // Over a real socket: inject() would resolve the dots before the server saw them.
      const res = await rawGet(`/v1/deployment-request/web/${path}`);
      expectShape(res.body, 400, res.status, 'GANTRY_ERR_REQUEST_BAD_URL');
      expect(JSON.parse(res.body).error.param).toBe('path');
      expect(seen).toEqual([]);
    },
  );

  it.each([
    ['an encoded "?" stays in the path', '/v1/deployment-request/web/a%3Fb?q=1', '/a%3Fb?q=1'],
    ['an encoded "/" stays inside its segment', '/v1/deployment-request/web/a%2Fb/c', '/a%2Fb/c'],
    ['an encoded "#" and space stay encoded', '/v1/deployment-request/web/x%23y%20z', '/x%23y%20z'],
    ['the query is kept as sent', '/v1/deployment-request/web?a=%2F&b', '/?a=%2F&b'],
    ['a dot inside a segment is ordinary', '/v1/deployment-request/web/a.b/.env', '/a.b/.env'],
  ])('forwards the path as the caller encoded it: %s', async (_name, url, expected) => {
    seen.length = 0;
    const res = await rawGet(url);
    expect(res.status).toBe(200);
    expect(seen).toEqual([expected]);
  });

  it('answers an unreachable replica with 502 GANTRY_ERR_DEPLOYMENT_PROXY', async () => {
    const body = { name: 'gone', image: 'img', gpu_type: 'none', min_replicas: 1 };
    const { id } = (await server.app.inject({ method: 'POST', url: '/v1/deployments', headers: server.auth, payload: body })).json();
    const [replica] = await scheduler.replicas(id);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    scheduler.setReplica(replica!.replicaId, { address: { host: '127.0.0.1', port: deadPort } });
    const res = await get('/v1/deployment-request/gone/x');
    expectShape(res.body, 502, res.statusCode, 'GANTRY_ERR_DEPLOYMENT_PROXY');
  });

  it.each([
    ['a header line without a colon', 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 400, 'GANTRY_ERR_REQUEST_MALFORMED_HTTP'],
    ['a method that is not one', 'HELLO / HTTP/1.1\r\n\r\n', 400, 'GANTRY_ERR_REQUEST_MALFORMED_HTTP'],
    ['both Content-Length and chunked', 'POST /v1/queue/submit HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'GANTRY_ERR_REQUEST_MALFORMED_HTTP'],
    ['a broken chunk size', 'POST /v1/queue/submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400, 'GANTRY_ERR_REQUEST_MALFORMED_HTTP'],
    ['20 KB of headers', `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'GANTRY_ERR_REQUEST_HEADERS_TOO_LARGE'],
  ])('answers %s on a raw socket in the error shape and closes', async (_name, request, status, code) => {
    const res = await rawExchange(port, [request], 10_000);
    expect(res.closed).toBe(true);
    expect(res.status).toBe(status);
    expect(res.json().error.code).toBe(code);
  });

  it('stays healthy after all of it', async () => {
    expect((await server.app.inject({ url: '/health' })).statusCode).toBe(200);
  });
});

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryScheduler } from '../../doubles/memory-scheduler.js';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real upstream standing in for a replica: records what reached it and echoes the body. */
async function startUpstream(tag: string, seen: Seen[]): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(req.url === '/teapot' ? 418 : 200, { 'content-type': 'application/json', 'x-replica': tag });
      res.end(JSON.stringify({ tag, echo: body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('direct HTTP to a deployment', () => {
  let server: TestServer;
  let scheduler: MemoryScheduler;
  const seen: Seen[] = [];
  const upstreams: Server[] = [];

  beforeEach(async () => {
    seen.length = 0;
    scheduler = new MemoryScheduler();
    server = await createTestServer({ scheduler });
  });
  afterEach(async () => {
    await server.close();
    for (const u of upstreams.splice(0)) u.close();
  });

  async function deployWithUpstreams(count: number, extra: Record<string, unknown> = {}): Promise<string> {
    const body = { name: 'web', image: 'img', gpu_type: 'none', min_replicas: count, max_replicas: Math.max(count, 1), ...extra };
    const { id } = (await server.app.inject({ method: 'POST', url: '/v1/deployments', headers: server.auth, payload: body })).json();
    for (const [i, replica] of (await scheduler.replicas(id)).entries()) {
      const upstream = await startUpstream(`r${i}`, seen);
      upstreams.push(upstream.server);
      scheduler.setReplica(replica.replicaId, { address: { host: '127.0.0.1', port: upstream.port } });
    }
    return id;
  }

  const request = (method: 'GET' | 'POST', url: string, payload?: string, headers: Record<string, string> = {}) =>
    server.app.inject({ method, url, headers: { ...server.auth, ...headers }, ...(payload ? { payload } : {}) });

  it('forwards method, path, query and body, and never the caller API key', async () => {
    await deployWithUpstreams(1);
    const res = await request('POST', '/v1/deployment-request/web/v1/images/generations?x=1', '{"prompt":"a cat"}', {
      'content-type': 'application/json',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ tag: 'r0', echo: '{"prompt":"a cat"}' });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/images/generations?x=1' });
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  it('keeps upstream status codes and headers', async () => {
    await deployWithUpstreams(1);
    const res = await request('GET', '/v1/deployment-request/web/teapot');
    expect(res.statusCode).toBe(418);
    expect(res.headers['x-replica']).toBe('r0');
  });

  it('spreads requests round robin over ready replicas', async () => {
    await deployWithUpstreams(2);
    const tags = [];
    for (let i = 0; i < 4; i++) tags.push((await request('GET', '/v1/deployment-request/web/health')).json().tag);
    expect(new Set(tags)).toEqual(new Set(['r0', 'r1']));
    expect(tags[0]).not.toBe(tags[1]);
  });

  it('answers 503 with a message when no replica is ready, and wakes a deployment at zero', async () => {
    const id = await deployWithUpstreams(0);
    const res = await request('GET', '/v1/deployment-request/web/health');
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('GANTRY_ERR_DEPLOYMENT_NO_REPLICA');
    expect(res.json().error.message).toContain('scaled to zero');
    expect(scheduler.scaleCalls).toEqual([{ deploymentId: id, count: 1 }]);
  });

  it('answers 404 for an unknown deployment and 401 without a key', async () => {
    expect((await request('GET', '/v1/deployment-request/nope/health')).statusCode).toBe(404);
    const anonymous = await server.app.inject({ url: '/v1/deployment-request/web/health' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('counts proxied requests per deployment', async () => {
    const id = await deployWithUpstreams(1);
    await request('GET', '/v1/deployment-request/web/health');
    await request('GET', '/v1/deployment-request/web/health');
    expect(server.deps.requestStats.window(id, 10).count).toBe(2);
    const metrics = (await server.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/gantry_direct_requests_total\{deployment="web",status_code="200"\} 2/);
  });
});

import { request as httpRequest } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOP_HEADER } from '../../src/api/plugins/caller-bound-agent.js';
import { FORWARDED_HEADER, leaderForwardPlugin } from '../../src/api/plugins/leader-forward.js';
import { errorHandlerPlugin } from '../../src/api/plugins/error-handler.js';
import type { LeaderView } from '../../src/coordinator/leadership.js';

/** A LeaderView the test sets by hand. */
class FixedLeader implements LeaderView {
  leading = false;
  url: string | undefined;
  leads(): boolean {
    return this.leading;
  }
  leaderUrl(): string | undefined {
    return this.url;
  }
}

interface Seen {
  method: string;
  url: string;
  headers: Record<string, unknown>;
  body: string;
}

/** The leader stand-in: a real HTTP server that records what reached it and answers with chosen statuses. */
async function startLeader(seen: Seen[]): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.all('/*', async (request, reply) => {
    if (request.url.includes('hold')) return holdUntilClosed(request, seen);
    seen.push({ method: request.method, url: request.url, headers: request.headers, body: (request.body as string | undefined) ?? '' });
    const status = request.url.includes('teapot') ? 418 : 200;
    return reply.code(status).header('x-served-by', 'leader').send({ served: 'leader', echo: request.body ?? null });
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/** A long poll that never answers: records the moment the forwarded request closes. */
async function holdUntilClosed(request: FastifyRequest, seen: Seen[]): Promise<never> {
  seen.push({ method: request.method, url: request.url, headers: request.headers, body: '' });
  await new Promise((resolve) => request.raw.once('close', resolve));
  seen.push({ method: 'CLOSED', url: request.url, headers: {}, body: '' });
  return new Promise<never>(() => undefined);
}

/** A follower: leader-only routes behind the forwarding plugin, as `server.ts` registers them. */
function buildFollower(leader: LeaderView): FastifyInstance {
  const app = Fastify();
  void app.register(errorHandlerPlugin);
  void app.register(async (leaderOnly) => {
    await leaderOnly.register(leaderForwardPlugin, { leader });
    leaderOnly.post('/v1/queue/submit', async (request) => ({ served: 'local', body: request.body }));
    leaderOnly.get('/v1/queue/status', async () => ({ served: 'local' }));
  });
  void app.register(async (open) => {
    open.get('/health', async () => ({ served: 'local' }));
  });
  return app;
}

describe('leaderForwardPlugin', () => {
  const seen: Seen[] = [];
  const view = new FixedLeader();
  let leader: { app: FastifyInstance; url: string };
  let follower: FastifyInstance;

  beforeAll(async () => {
    leader = await startLeader(seen);
    follower = buildFollower(view);
    await follower.ready();
  });
  afterAll(async () => {
    await follower.close();
    await leader.app.close();
  });

  it('serves leader-only routes locally when this replica leads', async () => {
    Object.assign(view, { leading: true, url: 'http://127.0.0.1:1' });
    const res = await follower.inject({ method: 'POST', url: '/v1/queue/submit', payload: { model: 'm' } });
    expect(res.json()).toEqual({ served: 'local', body: { model: 'm' } });
  });

  it('streams a follower request to the leader: method, path, query, body and key kept, marked as forwarded', async () => {
    Object.assign(view, { leading: false, url: leader.url });
    seen.length = 0;
    const payload = JSON.stringify({ model: 'm', payload: { text: 'x'.repeat(200_000) } });
    const res = await follower.inject({
      method: 'POST',
      url: '/v1/queue/submit?trace=1',
      headers: { authorization: 'Bearer gantry_key', 'content-type': 'application/json' },
      payload,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-served-by']).toBe('leader');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/queue/submit?trace=1', body: payload });
    expect(seen[0]!.headers).toMatchObject({ authorization: 'Bearer gantry_key', [FORWARDED_HEADER]: '1' });
    expect(seen[0]!.headers).not.toHaveProperty(HOP_HEADER);
  });

  it("keeps the leader's status code, and forwards GETs without a body", async () => {
    Object.assign(view, { leading: false, url: leader.url });
    const res = await follower.inject({ method: 'GET', url: '/v1/queue/status?model=teapot' });
    expect(res.statusCode).toBe(418);
    expect(res.json()).toEqual({ served: 'leader', echo: null });
  });

  it('leaves routes outside its context alone', async () => {
    Object.assign(view, { leading: false, url: undefined });
    expect((await follower.inject({ method: 'GET', url: '/health' })).json()).toEqual({ served: 'local' });
  });

  it('answers 503 GANTRY_ERR_NOT_LEADER when no leader is known', async () => {
    Object.assign(view, { leading: false, url: undefined });
    const res = await follower.inject({ method: 'POST', url: '/v1/queue/submit', payload: { model: 'm' } });
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatchObject({ code: 'GANTRY_ERR_NOT_LEADER', type: 'service_unavailable' });
  });

  it('never forwards a request twice (leadership moving): 503 GANTRY_ERR_NOT_LEADER', async () => {
    Object.assign(view, { leading: false, url: leader.url });
    seen.length = 0;
    const res = await follower.inject({ method: 'GET', url: '/v1/queue/status', headers: { [FORWARDED_HEADER]: '1' } });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('GANTRY_ERR_NOT_LEADER');
    expect(seen).toHaveLength(0);
  });

  it('answers 502 GANTRY_ERR_LEADER_UNREACHABLE when the leader cannot be reached', async () => {
    const gone = Fastify();
    const url = await gone.listen({ host: '127.0.0.1', port: 0 });
    await gone.close();
    Object.assign(view, { leading: false, url });
    const res = await follower.inject({ method: 'POST', url: '/v1/queue/submit', payload: { model: 'm' } });
    expect(res.statusCode).toBe(502);
    expect(res.json().error.code).toBe('GANTRY_ERR_LEADER_UNREACHABLE');
  });

  it('ends the hop to the leader when the caller disconnects mid long poll, so the leader drops its waiter', async () => {
    Object.assign(view, { leading: false, url: leader.url });
    seen.length = 0;
    const followerUrl = await follower.listen({ host: '127.0.0.1', port: 0 });
    const client = httpRequest(`${followerUrl}/v1/queue/status?hold=1`);
    client.on('error', () => undefined);
    client.end();
    await until(() => seen.length === 1);
    client.destroy();
    await until(() => seen.some((s) => s.method === 'CLOSED'));
    expect(seen.map((s) => s.method)).toEqual(['GET', 'CLOSED']);
  });
});

async function until(ok: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

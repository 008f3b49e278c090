import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { buildDeps } from '../../src/deps.js';
import { buildServer, type ServerDeps } from '../../src/server.js';
import { createLogger } from '../../src/shared/logger.js';
import { createConsulDouble, type ConsulDouble } from '../doubles/consul/consul-double.js';
import { MemoryScheduler } from '../doubles/memory-scheduler.js';
import { until } from '../helpers/server-process.js';

/** One control-plane replica in this process, listening on a real port (followers forward over HTTP). */
interface Replica {
  name: string;
  app: FastifyInstance;
  deps: ServerDeps;
  url: string;
  closed: boolean;
  close(): Promise<void>;
}

const silent = createLogger({ level: 'silent' });

async function startReplica(name: string, consul: ConsulDouble, scheduler: MemoryScheduler): Promise<Replica> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `gantry-cluster-${name}-`));
  const env = { GANTRY_DATA_DIR: dataDir, GANTRY_INSECURE_HTTP: '1', CONSUL_HTTP_ADDR: consul.url, GANTRY_LEADER_TTL_SECONDS: '10', GANTRY_LEADER_LOCK_DELAY_SECONDS: '3' };
  const deps = await buildDeps(loadConfig({ env }), { logger: silent, scheduler });
  const app = buildServer(deps);
  for (const part of deps.lifecycle) await part.start?.();
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  deps.publicUrl.listening(url);
  await deps.leadership.start();
  const replica: Replica = {
    name,
    app,
    deps,
    url,
    closed: false,
    close: async () => {
      if (replica.closed) return;
      replica.closed = true;
      await app.close();
      await deps.leadership.close();
      for (const part of [...deps.lifecycle].reverse()) await part.close?.();
      await deps.state.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return replica;
}

/** Issue 8: several control-plane replicas on Consul; one leads the queue, the others forward to it. */
describe('three control-plane replicas on the Consul double', () => {
  let consul: ConsulDouble;
  let replicas: Replica[];
  let auth: { authorization: string };
  let scheduler: MemoryScheduler;
  const acknowledged: string[] = [];

  beforeAll(async () => {
    consul = await createConsulDouble();
    scheduler = new MemoryScheduler();
    replicas = [];
    for (const name of ['a', 'b', 'c']) replicas.push(await startReplica(name, consul, scheduler));
    auth = { authorization: `Bearer ${(await replicas[0]!.deps.keys.createKey('admin', 'admin')).key}` };
    const created = await replicas[1]!.app.inject({ method: 'POST', url: '/v1/deployments', headers: auth, payload: { name: 'ha', image: 'img', gpu_type: 'none', min_replicas: 1 } });
    expect(created.statusCode).toBe(200);
  }, 60_000);
  afterAll(async () => {
    for (const r of replicas) await r.close();
    await consul.close();
  });

  const live = () => replicas.filter((r) => !r.closed);
  const leaderOf = () => until('one leader serving the queue', async () => {
    const leaders = live().filter((r) => r.deps.leadership.leads() && r.deps.queue.isServing);
    return leaders.length === 1 && live().every((r) => r.deps.leadership.leaderUrl() === leaders[0]!.url) ? leaders[0] : undefined;
  }, 30_000, 25);
  const followersOf = (leader: Replica) => live().filter((r) => r !== leader);
  const call = (r: Replica, method: 'GET' | 'POST', url: string, payload?: object) =>
    r.app.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });
  const submit = async (r: Replica, n: number) => {
    const res = await call(r, 'POST', '/v1/queue/submit', { model: 'ha', payload: { n } });
    expect(res.statusCode).toBe(200);
    acknowledged.push(res.json().request_id);
    return res.json().request_id as string;
  };

  it('elects exactly one leader; the others follow it and run no queue', async () => {
    const leader = await leaderOf();
    for (const f of followersOf(leader)) {
      expect(f.deps.queue.isServing).toBe(false);
      expect(f.deps.autoscaler.isRunning).toBe(false);
    }
    expect(leader.deps.autoscaler.isRunning).toBe(true);
    expect(consul.state.kv.get('gantry/leader')?.Value?.toString()).toBe(leader.url);
  });

  it('lands a submit made through a follower on the leader, and serves workers through the other follower', async () => {
    const leader = await leaderOf();
    const [f1, f2] = followersOf(leader);
    const id = await submit(f1!, 1);
    expect(leader.deps.queue.metrics((await leader.deps.deployments.record('ha')).id).total_jobs).toBeGreaterThanOrEqual(1);
    const claim = await call(f2!, 'GET', '/internal/v1/queue/retrieve?model=ha&timeout=5s&hostname=w1');
    expect(claim.statusCode).toBe(200);
    expect(claim.json().data).toMatchObject({ request_id: id, payload: { n: 1 } });
    const done = await call(f2!, 'POST', '/internal/v1/videos/status', { model: 'ha', request_id: id, status: 'done', payload: { ok: true } });
    expect(done.statusCode).toBe(200);
    const status = await call(f1!, 'GET', `/v1/queue/status?model=ha&request_id=${id}`);
    expect(status.json()).toMatchObject({ status: 'done', outputs: { ok: true } });
    // A follower keeps the leader's status codes (404 for an unknown job, 409 for a cancel of a done job).
    expect((await call(f1!, 'GET', `/v1/queue/status?model=ha&request_id=nope`)).statusCode).toBe(404);
    const cancel = await call(f2!, 'POST', '/v1/queue/cancel', { model: 'ha', request_id: id });
    expect(cancel.statusCode).toBe(409);
    expect(cancel.json()).toEqual({ status: 'done' });
  });

  it('forwards direct HTTP to a deployment through the leader, streaming the body and keeping the status', async () => {
    const leader = await leaderOf();
    const upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.writeHead(req.url === '/teapot' ? 418 : 200, { 'x-replica': 'r0' }).end(`echo:${body}`));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    try {
      const [replica] = await scheduler.replicas((await leader.deps.deployments.record('ha')).id);
      scheduler.setReplica(replica!.replicaId, { address: { host: '127.0.0.1', port: (upstream.address() as AddressInfo).port } });
      const follower = followersOf(leader)[0]!;
      const res = await follower.app.inject({ method: 'POST', url: '/v1/deployment-request/ha/teapot', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'a cat' });
      expect(res.statusCode).toBe(418);
      expect(res.headers['x-replica']).toBe('r0');
      expect(res.body).toBe('echo:a cat');
    } finally {
      upstream.close();
    }
  });

  it('keeps every acknowledged job when the leader goes away and another takes over', async () => {
    const leader = await leaderOf();
    const [f1, f2] = followersOf(leader);
    for (let n = 0; n < 5; n++) await submit(n % 2 ? f1! : leader, 10 + n);
    await leader.close();
    const next = await leaderOf();
    expect(next).not.toBe(leader);
    const survivor = next === f1 ? f2! : f1!;
    for (const id of acknowledged) {
      const res = await call(survivor, 'GET', `/v1/queue/status?model=ha&request_id=${id}`);
      expect(res.statusCode).toBe(200);
      expect(['pending', 'done']).toContain(res.json().status);
    }
    const depth = next.deps.queue.metrics((await next.deps.deployments.record('ha')).id);
    expect(depth.messages_waiting).toBe(acknowledged.length - 1);
  }, 60_000);

  it('makes the old leader refuse queue traffic before a new leader starts when its session is invalidated', async () => {
    const leader = await leaderOf();
    const others = followersOf(leader);
    const seen: { oldStopped?: number; newServing?: number; refusedAt?: number; refusal?: { status: number; code: string } } = {};
    const watch = setInterval(() => {
      seen.oldStopped ??= leader.deps.queue.isServing ? undefined : Date.now();
      if (live().some((r) => r.deps.queue.isServing && (r !== leader || seen.oldStopped))) seen.newServing ??= Date.now();
    }, 2);
    try {
      consul.invalidateSession(consul.state.kv.get('gantry/leader')!.Session!);
      await until('the old leader to stop serving', async () => seen.oldStopped, 10_000, 2);
      const refused = await call(leader, 'POST', '/v1/queue/submit', { model: 'ha', payload: { n: 99 } });
      seen.refusedAt = Date.now();
      seen.refusal = { status: refused.statusCode, code: refused.json().error?.code };
      await until('a new leader', async () => seen.newServing, 20_000, 5);
    } finally {
      clearInterval(watch);
    }
    expect(seen.refusal).toEqual({ status: 503, code: 'GANTRY_ERR_NOT_LEADER' });
    expect(seen.oldStopped!).toBeLessThan(seen.newServing!);
    expect(seen.refusedAt!).toBeLessThanOrEqual(seen.newServing!);
    const next = await leaderOf();
    expect([leader, ...others]).toContain(next);
    // Whoever leads now has every acknowledged job.
    const depth = next.deps.queue.metrics((await next.deps.deployments.record('ha')).id);
    expect(depth.total_jobs).toBe(acknowledged.length - 1);
  }, 60_000);
});

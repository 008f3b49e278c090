import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createConsulDouble, type ConsulDouble } from '../doubles/consul/consul-double.js';
import { callApi, startServerProcess, until, type ServerProcess } from '../helpers/server-process.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

const KEY = 'cluster-handover-admin-key-0123456789';
// Long on purpose: a stop that left the lock to expire would take TTL + lock-delay (25 s) to hand over.
const TTL_SECONDS = 15;
const LOCK_DELAY_SECONDS = 10;
/** Well under TTL + lock-delay, with room for a loaded machine. */
const HANDOVER_BOUND_SECONDS = 5;

/**
 * Issue 14 (Show): a clean stop (SIGTERM) of the leader of three `gantry server` processes steps down
 * before HTTP closes: the leader's waiting long polls and the ones forwarded to it end at once, the lock
 * is released (no lock-delay for a release), and another replica acknowledges submits in well under
 * TTL + lock-delay.
 */
describe('a clean stop of the leader of three gantry server processes', () => {
  let consul: ConsulDouble | undefined;
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) await s.kill();
    await consul?.close();
  });

  const call = (s: ServerProcess, method: string, url: string, body?: unknown) => callApi(s, KEY, method, url, body);
  const leaderUrl = () => consul!.state.kv.get('gantry/leader')?.Value?.toString();
  const lockHolder = () => consul!.state.kv.get('gantry/leader')?.Session;

  it('hands over to another replica in well under TTL + lock-delay', async () => {
    consul = await createConsulDouble();
    const env = {
      CONSUL_HTTP_ADDR: consul.url,
      GANTRY_ADMIN_KEY: KEY,
      GANTRY_INSECURE_HTTP: '1',
      GANTRY_LEADER_TTL_SECONDS: String(TTL_SECONDS),
      GANTRY_LEADER_LOCK_DELAY_SECONDS: String(LOCK_DELAY_SECONDS),
    };
    const dirs = ['a', 'b', 'c'].map((n) => mkdtempSync(path.join(tmpdir(), `gantry-handover-${n}-`)));
    servers.push(...(await Promise.all(dirs.map((dir) => startServerProcess(dir, env)))));
    const leader = await until('a leader', async () => servers.find((s) => s.url === leaderUrl()), 30_000);
    const [f1, f2] = servers.filter((s) => s !== leader) as [ServerProcess, ServerProcess];
    await until('the followers to know the leader', async () => {
      const res = await call(f2, 'GET', '/v1/queue/metrics?model=nope');
      return res.status === 404 ? res : undefined;
    }, 30_000, 100);
    const created = await call(f1, 'POST', '/v1/deployments', {
      name: 'handover',
      image: 'local/handover',
      gpu_type: 'none',
      min_replicas: 0,
      max_replicas: 0,
      x_gantry_source: { path: path.join(REPO_ROOT, 'examples/hello-http') },
    });
    expect(created.status).toBe(200);
    const before = await call(f1, 'POST', '/v1/queue/submit', { model: 'handover', payload: { n: 'before' } });
    expect(before.status).toBe(200);

    // Workers waiting in long polls, one at the leader itself and one through a follower, with nothing to
    // do: a stop must not wait for them (the queue is empty of pending work once they claim the one job).
    const claim = await call(f2, 'GET', '/internal/v1/queue/retrieve?model=handover&timeout=5s&hostname=w0');
    expect((claim.json.data as { request_id: string }).request_id).toBe(before.json.request_id);
    const polls = [leader, f2].map((s, i) => {
      const started = Date.now();
      return call(s, 'GET', `/internal/v1/queue/retrieve?model=handover&timeout=60s&hostname=w${i + 1}`).then(
        (res) => ({ status: res.status, ms: Date.now() - started }),
        (err: Error) => ({ status: err.message, ms: Date.now() - started }),
      );
    });
    await new Promise((r) => setTimeout(r, 500)); // both polls are waiting at the leader

    const heldBefore = lockHolder();
    const stoppedAt = Date.now();
    const exit = leader.stop();
    const next = await until('a submit acknowledged by a new leader', async () => {
      const res = await call(f1, 'POST', '/v1/queue/submit', { model: 'handover', payload: { n: 'after' } }).catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    }, (TTL_SECONDS + LOCK_DELAY_SECONDS) * 1000 + 30_000, 100);
    const handoverSeconds = (Date.now() - stoppedAt) / 1000;
    process.stdout.write(`handover: a new leader acknowledged a submit ${handoverSeconds.toFixed(1)} s after SIGTERM (TTL ${TTL_SECONDS} s + lock-delay ${LOCK_DELAY_SECONDS} s = ${TTL_SECONDS + LOCK_DELAY_SECONDS} s)\n`);
    expect(handoverSeconds).toBeLessThan(HANDOVER_BOUND_SECONDS);
    expect(await exit).toBe(0);
    expect((Date.now() - stoppedAt) / 1000).toBeLessThan(HANDOVER_BOUND_SECONDS + 2);
    expect([f1.url, f2.url]).toContain(leaderUrl());
    expect(lockHolder()).toBeDefined();
    expect(lockHolder()).not.toBe(heldBefore);

    // The waiting polls ended at the stop, not at their 60 s timeout.
    for (const poll of await Promise.all(polls)) expect(poll.ms).toBeLessThan(HANDOVER_BOUND_SECONDS * 1000 + 1_000);
    const status = await call(f2, 'GET', `/v1/queue/status?model=handover&request_id=${String(next.json.request_id)}`);
    expect(status.json.status).toBe('pending');
  }, 120_000);

  it('a follower that stops ends the long polls it forwards at once (503, retry elsewhere) and exits promptly', async () => {
    const follower = servers.find((s) => s.child.exitCode === null && s.url !== leaderUrl())!;
    const drained = await until('the pending job claimed', async () => {
      const res = await call(follower, 'GET', '/internal/v1/queue/retrieve?model=handover&timeout=1s&hostname=w9');
      return res.status === 200 && res.json.data === null ? res : undefined;
    }, 30_000, 100);
    expect(drained.status).toBe(200);
    const started = Date.now();
    const poll = call(follower, 'GET', '/internal/v1/queue/retrieve?model=handover&timeout=60s&hostname=w10');
    await new Promise((r) => setTimeout(r, 500));
    const exit = follower.stop();
    const res = await poll;
    expect(Date.now() - started).toBeLessThan(HANDOVER_BOUND_SECONDS * 1000);
    expect(res.status).toBe(503);
    expect((res.json.error as { code: string }).code).toBe('GANTRY_ERR_NOT_LEADER');
    expect(await exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(HANDOVER_BOUND_SECONDS * 1000 + 2_000);
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What Gantry relies on in Consul's HTTP API, asserted at the wire level so the double and a real Consul
 * (`CONSUL_HTTP_ADDR`, token from `CONSUL_HTTP_TOKEN`) answer alike. Keys live under a per-run prefix.
 */

export interface ConsulTarget {
  url: string;
  token?: string;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  index: number;
  text: string;
  json: () => unknown;
}

export function describeConsulApiContract(name: string, makeTarget: () => Promise<ConsulTarget>): void {
  describe(`Consul API contract: ${name}`, () => {
    let target: ConsulTarget;
    const ns = `gantry-contract-${process.pid}-${Date.now()}`;
    const k = (key: string) => `${ns}/${key}`;
    const call = async (method: string, path: string, body?: string | object): Promise<Answer> => {
      const res = await fetch(`${target.url}${path}`, {
        method,
        headers: { 'content-type': 'application/octet-stream', ...(target.token ? { 'x-consul-token': target.token } : {}) },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, index: Number(res.headers.get('x-consul-index') ?? 'NaN'), text, json: () => JSON.parse(text) };
    };
    const entryOf = async (key: string) => ((await call('GET', `/v1/kv/${key}`)).json() as Array<Record<string, unknown>>)[0]!;
    /** Every session this run created, destroyed at the end (a TTL session would otherwise linger 2 × TTL). */
    const sessions: string[] = [];
    const session = async (extra: object = {}) => {
      const { ID } = (await call('PUT', '/v1/session/create', { Name: ns, TTL: '10s', Checks: [], LockDelay: '1s', ...extra })).json() as { ID: string };
      sessions.push(ID);
      return ID;
    };

    beforeAll(async () => {
      target = await makeTarget();
    });
    afterAll(async () => {
      for (const id of sessions.splice(0)) await call('PUT', `/v1/session/destroy/${id}`);
      await call('DELETE', `/v1/kv/${ns}?recurse`);
      await target.close();
    });

    it('answers a missing key with 404, an empty body and an index', async () => {
      const res = await call('GET', `/v1/kv/${k('missing')}`);
      expect(res.status).toBe(404);
      expect(res.text).toBe('');
      expect(res.index).toBeGreaterThan(0);
    });

    it('stores raw bytes and returns them base64 with indexes, flags and lock index', async () => {
      expect((await call('PUT', `/v1/kv/${k('a')}?flags=42`, 'héllo')).json()).toBe(true);
      const entry = await entryOf(k('a'));
      expect(entry).toMatchObject({ Key: k('a'), Flags: 42, LockIndex: 0, Value: Buffer.from('héllo').toString('base64') });
      expect(entry.CreateIndex).toBe(entry.ModifyIndex);
      expect(entry).not.toHaveProperty('Session');
      const raw = await call('GET', `/v1/kv/${k('a')}?raw`);
      expect(raw.text).toBe('héllo');
    });

    it('keeps CreateIndex and moves ModifyIndex on overwrite', async () => {
      await call('PUT', `/v1/kv/${k('o')}`, '1');
      const first = await entryOf(k('o'));
      await call('PUT', `/v1/kv/${k('o')}`, '2');
      const second = await entryOf(k('o'));
      expect(second.CreateIndex).toBe(first.CreateIndex);
      expect(second.ModifyIndex as number).toBeGreaterThan(first.ModifyIndex as number);
    });

    it('applies cas: 0 creates only when absent, a stale index answers false', async () => {
      expect((await call('PUT', `/v1/kv/${k('c')}?cas=0`, 'x')).json()).toBe(true);
      expect((await call('PUT', `/v1/kv/${k('c')}?cas=0`, 'y')).json()).toBe(false);
      const { ModifyIndex } = await entryOf(k('c'));
      expect((await call('PUT', `/v1/kv/${k('c')}?cas=${Number(ModifyIndex) + 1000}`, 'y')).json()).toBe(false);
      expect((await call('PUT', `/v1/kv/${k('c')}?cas=${String(ModifyIndex)}`, 'y')).json()).toBe(true);
    });

    it('refuses conflicting flags with 400', async () => {
      const res = await call('PUT', `/v1/kv/${k('c')}?cas=0&acquire=x`, 'x');
      expect(res.status).toBe(400);
      expect(res.text).toContain('Conflicting flags');
    });

    it('refuses a value over kv_max_value_size with 413', async () => {
      const res = await call('PUT', `/v1/kv/${k('huge')}`, 'x'.repeat(512 * 1024 + 1));
      expect(res.status).toBe(413);
      expect(res.text).toContain('too large');
    });

    it('lists a prefix recursively and by keys with a separator, 404 when empty', async () => {
      for (const key of ['l/b', 'l/a', 'l/a/deep', 'lx']) await call('PUT', `/v1/kv/${k(key)}`, key);
      const entries = (await call('GET', `/v1/kv/${k('l/')}?recurse`)).json() as Array<{ Key: string }>;
      expect(entries.map((e) => e.Key)).toEqual([k('l/a'), k('l/a/deep'), k('l/b')]);
      expect((await call('GET', `/v1/kv/${k('l/')}?keys&separator=/`)).json()).toEqual([k('l/a'), k('l/a/'), k('l/b')]);
      expect((await call('GET', `/v1/kv/${k('none/')}?recurse`)).status).toBe(404);
    });

    it('deletes with cas: a stale index answers false, a missing key true', async () => {
      await call('PUT', `/v1/kv/${k('d')}`, '1');
      const { ModifyIndex } = await entryOf(k('d'));
      expect((await call('DELETE', `/v1/kv/${k('d')}?cas=${Number(ModifyIndex) + 1000}`)).json()).toBe(false);
      expect((await call('DELETE', `/v1/kv/${k('d')}?cas=${String(ModifyIndex)}`)).json()).toBe(true);
      expect((await call('DELETE', `/v1/kv/${k('d')}?cas=5`)).json()).toBe(true);
    });

    it('holds a blocking read until the key changes, and not for other keys', async () => {
      await call('PUT', `/v1/kv/${k('w')}`, '1');
      const { index } = await call('GET', `/v1/kv/${k('w')}`);
      const started = Date.now();
      const pending = call('GET', `/v1/kv/${k('w')}?index=${index}&wait=5s`);
      await new Promise((r) => setTimeout(r, 200));
      await call('PUT', `/v1/kv/${k('unrelated')}`, 'x');
      await new Promise((r) => setTimeout(r, 300));
      await call('PUT', `/v1/kv/${k('w')}`, '2');
      const res = await pending;
      expect(res.index).toBeGreaterThan(index);
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      expect(Date.now() - started).toBeLessThan(4_500);
      expect(Buffer.from(((res.json() as Array<{ Value: string }>)[0]!).Value, 'base64').toString()).toBe('2');
    });

    it('returns a blocking read after wait when nothing changes', async () => {
      await call('PUT', `/v1/kv/${k('idle')}`, '1');
      const { index } = await call('GET', `/v1/kv/${k('idle')}`);
      const started = Date.now();
      const res = await call('GET', `/v1/kv/${k('idle')}?index=${index}&wait=1s`);
      expect(res.status).toBe(200);
      expect(res.index).toBe(index);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    });

    it('applies a transaction at one index and answers get values, and no entry for deletes', async () => {
      const set = (key: string, v: string) => ({ KV: { Verb: 'set', Key: k(key), Value: Buffer.from(v).toString('base64') } });
      const res = await call('PUT', '/v1/txn', [set('t/a', 'A'), set('t/b', 'B'), { KV: { Verb: 'delete', Key: k('t/zz') } }, { KV: { Verb: 'get', Key: k('t/a') } }]);
      expect(res.status).toBe(200);
      const body = res.json() as { Results: Array<{ KV: Record<string, unknown> }>; Errors: unknown };
      expect(body.Errors).toBeNull();
      expect(body.Results).toHaveLength(3);
      expect(body.Results[0]!.KV.Value).toBeNull();
      expect(body.Results[2]!.KV.Value).toBe(Buffer.from('A').toString('base64'));
      expect(new Set(body.Results.map((r) => r.KV.ModifyIndex)).size).toBe(1);
    });

    it('rolls a transaction back with 409 and the failed operation indexes', async () => {
      await call('PUT', `/v1/kv/${k('t/keep')}`, 'keep');
      const res = await call('PUT', '/v1/txn', [
        { KV: { Verb: 'set', Key: k('t/new'), Value: 'eA==' } },
        { KV: { Verb: 'cas', Key: k('t/keep'), Value: 'eA==', Index: 1 } },
        { KV: { Verb: 'check-not-exists', Key: k('t/keep') } },
      ]);
      expect(res.status).toBe(409);
      const body = res.json() as { Results: unknown; Errors: Array<{ OpIndex: number; What: string }> };
      expect(body.Results).toBeNull();
      expect(body.Errors.map((e) => e.OpIndex)).toEqual([1, 2]);
      expect(body.Errors[0]!.What).toContain('index is stale');
      expect((await call('GET', `/v1/kv/${k('t/new')}`)).status).toBe(404);
    });

    it('refuses a transaction over the operation limit with 413', async () => {
      const ops = Array.from({ length: 129 }, (_, i) => ({ KV: { Verb: 'get-or-empty', Key: k(`t/${i}`) } }));
      const res = await call('PUT', '/v1/txn', ops);
      expect(res.status).toBe(413);
      expect(res.text).toContain('too many operations');
    });

    it('locks a key with a session: one holder, LockIndex counts acquisitions, release frees it', async () => {
      const [a, b] = [await session(), await session()];
      expect((await call('PUT', `/v1/kv/${k('lock')}?acquire=${a}`, 'A')).json()).toBe(true);
      expect((await call('PUT', `/v1/kv/${k('lock')}?acquire=${a}`, 'A2')).json()).toBe(true);
      expect(await entryOf(k('lock'))).toMatchObject({ Session: a, LockIndex: 1 });
      expect((await call('PUT', `/v1/kv/${k('lock')}?acquire=${b}`, 'B')).json()).toBe(false);
      expect((await call('PUT', `/v1/kv/${k('lock')}?release=${b}`, 'B')).json()).toBe(false);
      expect((await call('PUT', `/v1/kv/${k('lock')}?release=${a}`, 'free')).json()).toBe(true);
      expect((await call('PUT', `/v1/kv/${k('lock')}?acquire=${b}`, 'B')).json()).toBe(true);
      expect(await entryOf(k('lock'))).toMatchObject({ Session: b, LockIndex: 2 });
    });

    it('answers 500 for an acquire with an unknown session', async () => {
      const res = await call('PUT', `/v1/kv/${k('lock2')}?acquire=00000000-0000-0000-0000-000000000000`, 'x');
      expect(res.status).toBe(500);
      expect(res.text.toLowerCase()).toContain('invalid session');
    });

    it('releases locks of a destroyed session and holds them for the lock-delay', async () => {
      const a = await session({ LockDelay: '2s' });
      const b = await session();
      await call('PUT', `/v1/kv/${k('held')}?acquire=${a}`, 'A');
      expect((await call('PUT', `/v1/session/destroy/${a}`)).json()).toBe(true);
      const entry = await entryOf(k('held'));
      expect(entry).not.toHaveProperty('Session');
      expect(Buffer.from(entry.Value as string, 'base64').toString()).toBe('A');
      expect((await call('PUT', `/v1/kv/${k('held')}?acquire=${b}`, 'B')).json()).toBe(false);
      await new Promise((r) => setTimeout(r, 2_300));
      expect((await call('PUT', `/v1/kv/${k('held')}?acquire=${b}`, 'B')).json()).toBe(true);
    });

    it('deletes the locked keys of a delete-behavior session', async () => {
      const a = await session({ Behavior: 'delete', LockDelay: 0 });
      await call('PUT', `/v1/kv/${k('ephemeral')}?acquire=${a}`, 'A');
      await call('PUT', `/v1/session/destroy/${a}`);
      expect((await call('GET', `/v1/kv/${k('ephemeral')}`)).status).toBe(404);
    });

    it('renews, reads and destroys sessions; renewing a gone one is a 404', async () => {
      const id = await session({ Behavior: 'release' });
      const renewed = (await call('PUT', `/v1/session/renew/${id}`)).json() as Array<Record<string, unknown>>;
      expect(renewed[0]).toMatchObject({ ID: id, Behavior: 'release', TTL: '10s', LockDelay: 1e9 });
      expect(((await call('GET', `/v1/session/info/${id}`)).json() as unknown[]).length).toBe(1);
      expect(((await call('GET', '/v1/session/list')).json() as Array<{ ID: string }>).some((s) => s.ID === id)).toBe(true);
      await call('PUT', `/v1/session/destroy/${id}`);
      expect((await call('PUT', `/v1/session/destroy/${id}`)).json()).toBe(true);
      expect((await call('GET', `/v1/session/info/${id}`)).json()).toEqual([]);
      const gone = await call('PUT', `/v1/session/renew/${id}`);
      expect(gone.status).toBe(404);
      expect(gone.text).toContain('not found');
    });

    it('refuses a session TTL below the minimum', async () => {
      const res = await call('PUT', '/v1/session/create', { TTL: '1s', Checks: [] });
      expect(res.status).toBe(500);
      expect(res.text).toContain('Invalid Session TTL');
    });

    it('drops serfHealth for "Checks": [] and keeps it otherwise', async () => {
      const info = async (id: string) => ((await call('GET', `/v1/session/info/${id}`)).json() as Array<{ NodeChecks: string[] | null }>)[0]!;
      expect((await info(await session())).NodeChecks ?? []).not.toContain('serfHealth');
      const plain = ((await call('PUT', '/v1/session/create', { Name: ns, TTL: '10s' })).json() as { ID: string }).ID;
      expect((await info(plain)).NodeChecks).toContain('serfHealth');
      await call('PUT', `/v1/session/destroy/${plain}`);
    });

    it('refuses a session tied to a missing or critical check with 500', async () => {
      const missing = await call('PUT', '/v1/session/create', { TTL: '10s', Checks: [], ServiceChecks: [{ ID: `${ns}-nope` }] });
      expect(missing.status).toBe(500);
      expect(missing.text).toContain('Missing check');
      const svc = `${ns}-crit`;
      await call('PUT', '/v1/agent/service/register', { ID: svc, Name: svc, Check: { CheckID: `${svc}:ttl`, TTL: '30s' } });
      const critical = await call('PUT', '/v1/session/create', { TTL: '10s', Checks: [], ServiceChecks: [{ ID: `${svc}:ttl` }] });
      expect(critical.status).toBe(500);
      expect(critical.text).toContain('critical');
      await call('PUT', `/v1/agent/service/deregister/${svc}`);
    });

    it('invalidates a session when its TTL check lapses, long before the session TTL', async () => {
      const svc = `${ns}-ttl`;
      const checkId = `${svc}:ttl`;
      await call('PUT', '/v1/agent/service/register', { ID: svc, Name: svc, Check: { CheckID: checkId, TTL: '2s', Status: 'passing' } });
      const id = await session({ ServiceChecks: [{ ID: checkId }], LockDelay: '1s' });
      expect((await call('PUT', `/v1/kv/${k('ttl-lock')}?acquire=${id}`, 'A')).json()).toBe(true);
      const started = Date.now();
      expect((await call('PUT', `/v1/agent/check/pass/${checkId}`)).status).toBe(200);
      while (Date.now() - started < 9_000 && (await entryOf(k('ttl-lock'))).Session) await new Promise((r) => setTimeout(r, 100));
      const lapsed = Date.now() - started;
      expect(await entryOf(k('ttl-lock'))).not.toHaveProperty('Session');
      expect(lapsed).toBeGreaterThanOrEqual(1_900);
      expect(lapsed).toBeLessThan(6_000);
      expect((await call('GET', `/v1/session/info/${id}`)).json()).toEqual([]);
      const checks = ((await call('GET', `/v1/health/service/${svc}`)).json() as Array<{ Checks: Array<{ CheckID: string; Status: string; Output: string }> }>)[0]!.Checks;
      expect(checks.find((c) => c.CheckID === checkId)).toMatchObject({ Status: 'critical', Output: expect.stringContaining('TTL expired') });
      await call('PUT', `/v1/agent/service/deregister/${svc}`);
    }, 15_000);

    it('invalidates a session when its check is deregistered with its service', async () => {
      const svc = `${ns}-gone`;
      await call('PUT', '/v1/agent/service/register', { ID: svc, Name: svc, Check: { CheckID: `${svc}:ttl`, TTL: '30s', Status: 'passing' } });
      const id = await session({ ServiceChecks: [{ ID: `${svc}:ttl` }] });
      await call('PUT', `/v1/agent/service/deregister/${svc}`);
      expect((await call('PUT', `/v1/session/renew/${id}`)).status).toBe(404);
    });

    it('lists only passing instances with ?passing and follows check updates', async () => {
      const svc = `${ns}-svc`;
      const register = (id: string, status: string) =>
        call('PUT', '/v1/agent/service/register', { ID: id, Name: svc, Address: '10.0.0.1', Port: 8000, Check: { TTL: '30s', Status: status } });
      await register(`${svc}-1`, 'passing');
      await register(`${svc}-2`, 'critical');
      const passing = (await call('GET', `/v1/health/service/${svc}?passing`)).json() as Array<{ Service: { ID: string; Port: number } }>;
      expect(passing.map((e) => e.Service.ID)).toEqual([`${svc}-1`]);
      expect(((await call('GET', `/v1/health/service/${svc}`)).json() as unknown[]).length).toBe(2);
      await call('PUT', `/v1/agent/check/pass/service:${svc}-2`);
      expect(((await call('GET', `/v1/health/service/${svc}?passing`)).json() as unknown[]).length).toBe(2);
      await call('PUT', `/v1/agent/service/deregister/${svc}-1`);
      await call('PUT', `/v1/agent/service/deregister/${svc}-2`);
      expect((await call('GET', `/v1/health/service/${svc}`)).json()).toEqual([]);
    });
  });
}

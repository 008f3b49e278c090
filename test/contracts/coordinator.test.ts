import { afterAll, describe, expect, it } from 'vitest';
import { ConsulClient } from '../../src/clients/consul/index.js';
import { ConsulCoordinator } from '../../src/coordinator/consul/consul-coordinator.js';
import { ELECTION_SERVICE } from '../../src/coordinator/consul/election-check.js';
import { ConsulStateStore } from '../../src/state/consul/consul-state-store.js';
import { SingleNodeCoordinator } from '../../src/coordinator/single-node/single-node-coordinator.js';
import { createLogger } from '../../src/shared/logger.js';
import { createConsulDouble, type ConsulDouble } from '../doubles/consul/consul-double.js';
import { createCuttableProxy } from '../helpers/cuttable-proxy.js';
import { describeCoordinatorContract, record, until } from './coordinator.contract.js';

const silent = createLogger({ level: 'silent' });
let consul: ConsulDouble | undefined;
let keys = 0;
afterAll(async () => consul?.close());

describeCoordinatorContract('single node', { replicas: false, make: async (url) => new SingleNodeCoordinator(url) });

/** Each test gets its own lock key; replicas of one test share it. */
function consulFactory(address: () => Promise<string>, token?: string) {
  let key = '';
  let lastTest = '';
  return {
    replicas: true,
    make: async (url: string) => {
      const test = expect.getState().currentTestName ?? '';
      if (test !== lastTest) [lastTest, key] = [test, `gantry-coordinator-test/${process.pid}-${++keys}/leader`];
      const client = new ConsulClient({ address: await address(), ...(token ? { token } : {}) });
      return new ConsulCoordinator({ client, key, advertiseUrl: url, logger: silent, ttlSeconds: 10, lockDelaySeconds: 1, watchWaitSeconds: 5 });
    },
  };
}

/** Deletes the lock keys of this run (`gantry-coordinator-test/<pid>-…`): a released lock keeps its key. */
async function deleteRunKeys(address: string, token?: string): Promise<void> {
  await fetch(`${address.replace(/\/+$/, '')}/v1/kv/gantry-coordinator-test/${process.pid}-?recurse`, {
    method: 'DELETE',
    headers: token ? { 'x-consul-token': token } : {},
  });
}

describe('consul over the double, cleaned up', () => {
  afterAll(async () => deleteRunKeys(consul!.url));
  describeCoordinatorContract(
    'consul over the double',
    consulFactory(async () => (consul ??= await createConsulDouble()).url),
  );
});

// Runs after the suite above and its cleanup: nothing of the run is left in Consul.
describe('Coordinator contract cleanup', () => {
  it('leaves no lock key, session or election service behind', () => {
    expect(consul!.state.kv.list(`gantry-coordinator-test/${process.pid}-`).map((e) => e.Key)).toEqual([]);
    expect(consul!.state.sessions.size).toBe(0);
    expect(consul!.state.services.named(ELECTION_SERVICE)).toEqual([]);
  });
});

describe.skipIf(!process.env.CONSUL_HTTP_ADDR)('real Consul', () => {
  afterAll(async () => deleteRunKeys(process.env.CONSUL_HTTP_ADDR!, process.env.CONSUL_HTTP_TOKEN));
  describeCoordinatorContract(`consul at ${process.env.CONSUL_HTTP_ADDR}`, consulFactory(async () => process.env.CONSUL_HTTP_ADDR!, process.env.CONSUL_HTTP_TOKEN));
});

describe('ConsulCoordinator against the double', () => {
  it('uses a TTL session without node checks, tied to its own TTL check, with the configured lock-delay', async () => {
    consul ??= await createConsulDouble();
    const c = new ConsulCoordinator({ client: new ConsulClient({ address: consul.url }), key: 'gantry-coordinator-test/session/leader', advertiseUrl: 'https://a:1', logger: silent, ttlSeconds: 12, lockDelaySeconds: 3 });
    await c.start();
    const sessions = [...consul.state.sessions.values()].filter((s) => s.Name.includes('https://a:1'));
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ TTL: '12s', LockDelay: 3e9, NodeChecks: [], Behavior: 'release' });
    const [instance] = consul.state.services.named(ELECTION_SERVICE).filter((s) => s.Meta.url === 'https://a:1');
    expect(instance).toMatchObject({ Address: 'a', Port: 1, checks: [{ Status: 'passing', Type: 'ttl' }] });
    expect(instance!.timings.get(instance!.checks[0]!.CheckID)).toEqual({ ttlMs: 12_000, deregisterAfterMs: 60_000 });
    expect(sessions[0]!.ServiceChecks).toEqual([{ ID: instance!.checks[0]!.CheckID }]);
    expect(consul.state.kv.get('gantry-coordinator-test/session/leader')?.Value?.toString()).toBe('https://a:1');
    await c.close();
    expect(consul.state.sessions.size).toBe(0);
    expect(consul.state.services.byId.has(instance!.ID)).toBe(false);
  });

  it('re-registers its check when the agent lost it, and campaigns again with a new session', async () => {
    consul ??= await createConsulDouble();
    const key = 'gantry-coordinator-test/agent-restart/leader';
    const c = new ConsulCoordinator({ client: new ConsulClient({ address: consul.url }), key, advertiseUrl: 'https://r:1', logger: silent, ttlSeconds: 10, lockDelaySeconds: 0, watchWaitSeconds: 1 });
    await c.start();
    await until(() => c.leadership() !== undefined);
    const [instance] = consul.state.services.named(ELECTION_SERVICE).filter((s) => s.Meta.url === 'https://r:1');
    const lost = record(c, 'leader:lost');
    consul.state.deregisterService(instance!.ID);
    await until(() => lost.length === 1);
    await until(() => c.leadership() !== undefined, 15_000);
    expect(consul.state.services.byId.get(instance!.ID)?.checks[0]?.Status).toBe('passing');
    await c.close();
  }, 20_000);

  it('fences a deposed leader: its writes carrying the leadership fence fail once the session is gone', async () => {
    consul ??= await createConsulDouble();
    const client = new ConsulClient({ address: consul.url });
    const store = new ConsulStateStore(new ConsulClient({ address: consul.url }), 'fence-test/');
    const c = new ConsulCoordinator({ client, key: 'fence-test/leader', fenceKey: 'leader', advertiseUrl: 'https://f:1', logger: silent, ttlSeconds: 10, lockDelaySeconds: 0, watchWaitSeconds: 1 });
    await c.start();
    await until(() => c.leadership() !== undefined);
    const { fence } = c.leadership()!;
    expect(fence).toEqual({ verb: 'check-index', key: 'leader', index: consul.state.kv.get('fence-test/leader')!.ModifyIndex });
    expect(await store.txn([fence!, { verb: 'set', key: 'queue/a', value: '1' }])).toMatchObject({ ok: true });
    // Consul ends the session; the old leader has not heard yet, but its next write cannot land.
    consul.invalidateSession(consul.state.kv.get('fence-test/leader')!.Session!);
    expect(await store.txn([fence!, { verb: 'set', key: 'queue/b', value: '1' }])).toMatchObject({ ok: false, errors: [{ opIndex: 0 }] });
    expect(await store.get('queue/b')).toBeUndefined();
    await until(() => c.leadership() !== undefined && c.leadership()!.fence!.index !== fence!.index, 10_000);
    expect(await store.txn([c.leadership()!.fence!, { verb: 'set', key: 'queue/c', value: '1' }])).toMatchObject({ ok: true });
    await c.close();
    await store.close();
  });

  it('leads afresh, with a new fence and its own URL back, when someone overwrites the lock key it holds', async () => {
    consul ??= await createConsulDouble();
    const key = 'overwrite-test/leader';
    const client = new ConsulClient({ address: consul.url });
    const c = new ConsulCoordinator({ client, key, fenceKey: 'leader', advertiseUrl: 'https://o:1', logger: silent, ttlSeconds: 10, lockDelaySeconds: 0, watchWaitSeconds: 1 });
    await c.start();
    await until(() => c.leadership() !== undefined);
    const first = c.leadership()!;
    const lost = record(c, 'leader:lost');
    const acquired = record(c, 'leader:acquired');
    await client.kv.put(key, Buffer.from('https://someone-else:1'));
    await until(() => acquired.length === 1);
    expect(first.signal.aborted).toBe(true);
    expect(lost).toHaveLength(1);
    const entry = consul.state.kv.get(key)!;
    expect(entry.Value?.toString()).toBe('https://o:1');
    expect(c.leadership()!.fence).toEqual({ verb: 'check-index', key: 'leader', index: entry.ModifyIndex });
    expect(c.leaderUrl()).toBe('https://o:1');
    await c.close();
  });

  it('a network cut (session invalidated) ends the old leadership before anyone else can lead', async () => {
    consul ??= await createConsulDouble();
    const make = (url: string) =>
      new ConsulCoordinator({ client: new ConsulClient({ address: consul!.url }), key: 'gantry-coordinator-test/cut/leader', advertiseUrl: url, logger: silent, ttlSeconds: 10, lockDelaySeconds: 2, watchWaitSeconds: 5 });
    const [a, b] = [make('https://a:1'), make('https://b:2')];
    await a.start();
    await until(() => a.leadership() !== undefined);
    await b.start();
    const lost = record(a, 'leader:lost');
    const acquired = record(b, 'leader:acquired');
    const signal = a.leadership()!.signal;
    const cutAt = Date.now();
    const sessionOfA = consul.state.kv.get('gantry-coordinator-test/cut/leader')!.Session!;
    consul.invalidateSession(sessionOfA);
    await until(() => acquired.length === 1);
    expect(signal.aborted).toBe(true);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.at).toBeLessThan(acquired[0]!.at);
    expect(lost[0]!.at - cutAt).toBeLessThan(1_000);
    expect(acquired[0]!.at - cutAt).toBeGreaterThanOrEqual(1_900);
    await until(() => a.leaderUrl() === 'https://b:2');
    await b.close();
    await a.close();
  });
});

describe('ConsulCoordinator when the leader cannot reach Consul', () => {
  it('steps down within its TTL, and another leads within TTL + lock-delay, never before the old one stopped', async () => {
    // A double that accepts a 2 s TTL. Without the heartbeat check Consul would reap the session up to
    // 2 × TTL after its last renewal (4 s), and the takeover would take up to 5 s.
    const fast = await createConsulDouble({ minSessionTtlMs: 1_000 });
    const proxy = await createCuttableProxy(fast.url);
    const make = (address: string, url: string) =>
      new ConsulCoordinator({ client: new ConsulClient({ address, attempts: 1, timeoutMs: 500 }), key: 'gantry/leader', advertiseUrl: url, logger: silent, ttlSeconds: 2, lockDelaySeconds: 1, watchWaitSeconds: 1 });
    const a = make(proxy.url, 'https://a:1');
    const b = make(fast.url, 'https://b:2');
    try {
      await a.start();
      await until(() => a.leadership() !== undefined);
      await b.start();
      const lost = record(a, 'leader:lost');
      const acquired = record(b, 'leader:acquired');
      const cutAt = Date.now();
      proxy.cut();
      await until(() => acquired.length === 1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.at).toBeLessThan(acquired[0]!.at);
      expect(lost[0]!.at - cutAt).toBeLessThanOrEqual(2_000);
      // The check lapses one TTL after its last pass (1–2 s after the cut), then the lock-delay (1 s).
      expect(acquired[0]!.at - cutAt).toBeGreaterThanOrEqual(1_900);
      expect(acquired[0]!.at - cutAt).toBeLessThanOrEqual(3_500);
    } finally {
      await b.close();
      await a.close();
      await proxy.close();
      await fast.close();
    }
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { ConsulClient } from '../../src/clients/consul/index.js';
import { ConsulCoordinator } from '../../src/coordinator/consul/consul-coordinator.js';
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

describeCoordinatorContract(
  'consul over the double',
  consulFactory(async () => (consul ??= await createConsulDouble()).url),
);

describe.skipIf(!process.env.CONSUL_HTTP_ADDR)('real Consul', () => {
  describeCoordinatorContract(`consul at ${process.env.CONSUL_HTTP_ADDR}`, consulFactory(async () => process.env.CONSUL_HTTP_ADDR!, process.env.CONSUL_HTTP_TOKEN));
});

describe('ConsulCoordinator against the double', () => {
  it('uses a TTL session with no checks and the configured lock-delay', async () => {
    consul ??= await createConsulDouble();
    const c = new ConsulCoordinator({ client: new ConsulClient({ address: consul.url }), key: 'gantry-coordinator-test/session/leader', advertiseUrl: 'https://a:1', logger: silent, ttlSeconds: 12, lockDelaySeconds: 3 });
    await c.start();
    const sessions = [...consul.state.sessions.values()].filter((s) => s.Name.includes('https://a:1'));
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ TTL: '12s', LockDelay: 3e9, NodeChecks: [], Behavior: 'release' });
    expect(consul.state.kv.get('gantry-coordinator-test/session/leader')?.Value?.toString()).toBe('https://a:1');
    await c.close();
    expect(consul.state.sessions.size).toBe(0);
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
  it('steps down within its TTL, before Consul reaps the session and the lock-delay passes', async () => {
    // A double that accepts a 1 s TTL, so the reaping (2 × TTL) and lock-delay happen within the test.
    const fast = await createConsulDouble({ minSessionTtlMs: 1_000 });
    const proxy = await createCuttableProxy(fast.url);
    const make = (address: string, url: string) =>
      new ConsulCoordinator({ client: new ConsulClient({ address, attempts: 1, timeoutMs: 500 }), key: 'gantry/leader', advertiseUrl: url, logger: silent, ttlSeconds: 1, lockDelaySeconds: 1, watchWaitSeconds: 1 });
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
      // Consul reaps at up to 2 × TTL after the last renewal, then holds the lock for the lock-delay.
      expect(acquired[0]!.at - cutAt).toBeGreaterThanOrEqual(1_500);
    } finally {
      await b.close();
      await a.close();
      await proxy.close();
      await fast.close();
    }
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ConsulClient } from '../../../src/clients/consul/index.js';
import { ConsulCoordinator } from '../../../src/coordinator/consul/consul-coordinator.js';
import { createLogger } from '../../../src/shared/logger.js';
import { createConsulDouble, type ConsulDouble } from '../../doubles/consul/consul-double.js';
import { until } from '../../contracts/coordinator.contract.js';

const silent = createLogger({ level: 'silent' });
const KEY = 'acquire-test/leader';

describe('ConsulCoordinator acquiring the lock', () => {
  let consul: ConsulDouble | undefined;
  const running: ConsulCoordinator[] = [];
  afterEach(async () => {
    for (const c of running.splice(0)) await c.close();
    await consul?.close();
  });

  const make = (url: string) => {
    const c = new ConsulCoordinator({ client: new ConsulClient({ address: consul!.url }), key: KEY, advertiseUrl: url, logger: silent, ttlSeconds: 2, lockDelaySeconds: 0, watchWaitSeconds: 30 });
    running.push(c);
    return c;
  };
  const sessionOf = (url: string) => [...consul!.state.sessions.values()].find((s) => s.Name.includes(url))?.ID;

  it('never leads without holding the lock when its session was dropped during the blocking read', async () => {
    // A double that accepts a 2 s TTL, so the heartbeat (every TTL/2) finds the invalidated session soon.
    consul = await createConsulDouble({ minSessionTtlMs: 1_000 });
    const b = make('https://b:2');
    await b.start();
    await until(() => b.leadership() !== undefined);
    const a = make('https://a:1');
    // What the lock key says at the moment A declares itself leader.
    const heldAtWin: Array<string | undefined> = [];
    a.on('leader:acquired', () => heldAtWin.push(consul!.state.kv.get(KEY)?.Session));
    await a.start();
    const dropped = sessionOf('https://a:1')!;
    const seen = consul.state.requests.length;
    // A waits in its blocking read of the lock key; meanwhile Consul ends its session and its heartbeat
    // learns so (the renewal answers 404) and drops it.
    consul.invalidateSession(dropped);
    await until(() => consul!.state.requests.slice(seen).includes(`PUT /v1/session/renew/${dropped}`));
    await new Promise((r) => setTimeout(r, 300)); // its answer (404) handled
    // The lock is released: A's blocking read returns a free lock, with A holding no session.
    running.splice(running.indexOf(b), 1);
    await b.close();
    await until(() => a.leadership() !== undefined);
    const lock = consul.state.kv.get(KEY)!;
    expect(lock.Session).toBeDefined();
    expect(lock.Session).not.toBe(dropped);
    expect(lock.Session).toBe(sessionOf('https://a:1'));
    // It won once, holding the lock with its new session (never by a plain write that holds nothing).
    expect(heldAtWin).toEqual([lock.Session]);
    expect(a.leadership()!.epoch).toBe(lock.LockIndex);
  }, 30_000);
});

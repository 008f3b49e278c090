import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsulClient } from '../../../src/clients/consul/index.js';
import { HealthyReplicas } from '../../../src/coordinator/consul/healthy-replicas.js';
import { createLogger } from '../../../src/shared/logger.js';
import { createConsulDouble, type ConsulDouble } from '../../doubles/consul/consul-double.js';
import { until } from '../../contracts/coordinator.contract.js';

describe('HealthyReplicas', () => {
  let consul: ConsulDouble;
  let client: ConsulClient;
  let watcher: HealthyReplicas | undefined;
  beforeEach(async () => {
    consul = await createConsulDouble();
    client = new ConsulClient({ address: consul.url });
  });
  afterEach(async () => {
    await watcher?.close();
    client.close();
    await consul.close();
  });

  const register = (id: string, status: 'passing' | 'critical', address = '') =>
    client.agent.register({ ID: id, Name: 'dep-a', Address: address, Port: 8000, Meta: { alloc_id: id }, Check: { TTL: '30s', Status: status } });

  it('lists passing replicas only, falling back to the node address', async () => {
    await register('r1', 'passing', '10.0.0.5');
    await register('r2', 'critical');
    await register('r3', 'passing');
    watcher = new HealthyReplicas({ client, service: 'dep-a', logger: createLogger({ level: 'silent' }) });
    await watcher.start();
    expect(watcher.current()).toEqual([
      { id: 'r1', address: '10.0.0.5', port: 8000, meta: { alloc_id: 'r1' } },
      { id: 'r3', address: '127.0.0.1', port: 8000, meta: { alloc_id: 'r3' } },
    ]);
  });

  it('follows check changes and deregistrations through blocking queries, without polling', async () => {
    await register('r1', 'passing');
    await register('r2', 'critical');
    watcher = new HealthyReplicas({ client, service: 'dep-a', logger: createLogger({ level: 'silent' }) });
    const seen: string[][] = [];
    watcher.onChange((replicas) => seen.push(replicas.map((r) => r.id)));
    await watcher.start();
    consul.setCheckStatus('service:r2', 'passing');
    await until(() => watcher!.current().length === 2);
    await client.agent.deregister('r1');
    await until(() => watcher!.current().map((r) => r.id).join() === 'r2');
    expect(seen.at(-1)).toEqual(['r2']);
    const before = consul.state.requests.filter((r) => r.startsWith('GET /v1/health')).length;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(consul.state.requests.filter((r) => r.startsWith('GET /v1/health')).length - before).toBeLessThanOrEqual(1);
  });
});

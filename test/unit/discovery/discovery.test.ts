import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsulClient } from '../../../src/clients/consul/index.js';
import { ConsulDiscovery } from '../../../src/discovery/consul/consul-discovery.js';
import { SchedulerDiscovery } from '../../../src/discovery/scheduler-discovery.js';
import type { ReplicaStatus, Scheduler } from '../../../src/scheduler/scheduler.js';
import { createLogger } from '../../../src/shared/logger.js';
import { createConsulDouble, type ConsulDouble } from '../../doubles/consul/consul-double.js';
import { until } from '../../helpers/server-process.js';

const DEPLOYMENT = { id: 'dep_1', job_id: 'gantry-hello' };

function status(replicaId: string, overrides: Partial<ReplicaStatus>): ReplicaStatus {
  return {
    replicaId, deploymentId: DEPLOYMENT.id, revisionId: 'rev', image: 'img', state: 'Running', reason: undefined,
    message: undefined, readySince: '2026-01-01T00:00:00Z', startedAt: '2026-01-01T00:00:00Z', restarts: 0,
    address: { host: '127.0.0.1', port: 9000 }, volumePreload: undefined, ...overrides,
  };
}

describe('SchedulerDiscovery', () => {
  it('keeps the running, ready replicas that have an address', async () => {
    const replicas = [
      status('ready', {}),
      status('starting', { readySince: undefined }),
      status('gone', { state: 'Terminated' }),
      status('no-address', { address: undefined }),
    ];
    const scheduler: Pick<Scheduler, 'replicas'> = { replicas: async (id) => (id === DEPLOYMENT.id ? replicas : []) };
    expect(await new SchedulerDiscovery(scheduler).healthy(DEPLOYMENT)).toEqual([
      { replicaId: 'ready', address: { host: '127.0.0.1', port: 9000 } },
    ]);
  });
});

describe('ConsulDiscovery', () => {
  const alloc = '5d6f7a8b-1c2d-4e3f-9a0b-123456789abc';
  let consul: ConsulDouble;
  let client: ConsulClient;
  let discovery: ConsulDiscovery;
  beforeEach(async () => {
    consul = await createConsulDouble();
    client = new ConsulClient({ address: consul.url });
    discovery = new ConsulDiscovery({ client, logger: createLogger({ level: 'silent' }) });
  });
  afterEach(async () => {
    await discovery.close();
    client.close();
    await consul.close();
  });

  const register = (id: string, name: string, status: 'passing' | 'critical') =>
    client.agent.register({ ID: id, Name: name, Address: '10.1.2.3', Port: 24001, Check: { TTL: '30s', Status: status } });

  it("lists the job's passing service instances, named by their allocation id", async () => {
    await register(`_nomad-task-${alloc}-worker-worker-http`, 'gantry-hello', 'passing');
    await register('other-instance', 'gantry-hello', 'critical');
    await register('unrelated', 'gantry-other', 'passing');
    expect(await discovery.healthy(DEPLOYMENT)).toEqual([{ replicaId: alloc, address: { host: '10.1.2.3', port: 24001 } }]);
  });

  it('follows health changes with one watcher per service', async () => {
    await register('a', 'gantry-hello', 'critical');
    expect(await discovery.healthy(DEPLOYMENT)).toEqual([]);
    consul.setCheckStatus('service:a', 'passing');
    const healthy = await until('a to pass', async () => {
      const now = await discovery.healthy(DEPLOYMENT);
      return now.length === 1 ? now : undefined;
    }, 10_000, 50);
    expect(healthy).toEqual([{ replicaId: 'a', address: { host: '10.1.2.3', port: 24001 } }]);
    const watches = consul.state.requests.filter((r) => r.startsWith('GET /v1/health/service/gantry-hello')).length;
    expect(watches).toBeLessThanOrEqual(4);
  });

  it('closes a watcher nobody asked for within idleMs (a deleted deployment), and starts it again on use', async () => {
    const idle = new ConsulDiscovery({ client, logger: createLogger({ level: 'silent' }), idleMs: 60_000 });
    try {
      await register('a', 'gantry-hello', 'passing');
      await idle.healthy(DEPLOYMENT);
      await idle.closeIdle(Date.now() + 30_000);
      expect(idle.watched).toEqual(['gantry-hello']);
      await idle.closeIdle(Date.now() + 60_000);
      expect(idle.watched).toEqual([]);
      expect(await idle.healthy(DEPLOYMENT)).toHaveLength(1);
      expect(idle.watched).toEqual(['gantry-hello']);
    } finally {
      await idle.close();
    }
  });
});

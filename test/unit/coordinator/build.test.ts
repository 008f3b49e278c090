import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { buildCoordinator } from '../../../src/coordinator/build.js';
import { ConsulCoordinator } from '../../../src/coordinator/consul/consul-coordinator.js';
import { SingleNodeCoordinator } from '../../../src/coordinator/single-node/single-node-coordinator.js';
import { createLogger } from '../../../src/shared/logger.js';
import { createConsulDouble } from '../../doubles/consul/consul-double.js';

const logger = createLogger({ level: 'silent' });

describe('buildCoordinator', () => {
  it('is a single node on the embedded default', () => {
    const c = buildCoordinator(loadConfig({ env: {} }), { advertiseUrl: 'https://a:1', logger });
    expect(c).toBeInstanceOf(SingleNodeCoordinator);
  });

  it('elects on <kv prefix>leader with the configured TTL and lock-delay when Consul is set', async () => {
    const consul = await createConsulDouble({ aclToken: 'acl' });
    try {
      const env = { CONSUL_HTTP_ADDR: consul.url, CONSUL_HTTP_TOKEN: 'acl', GANTRY_CONSUL_KV_PREFIX: 'team/gantry/', GANTRY_LEADER_TTL_SECONDS: '20', GANTRY_LEADER_LOCK_DELAY_SECONDS: '7' };
      const c = buildCoordinator(loadConfig({ env }), { advertiseUrl: 'https://a:1', logger });
      expect(c).toBeInstanceOf(ConsulCoordinator);
      await c.start();
      expect(c.leadership()).toBeDefined();
      expect(consul.state.kv.get('team/gantry/leader')?.Value?.toString()).toBe('https://a:1');
      expect([...consul.state.sessions.values()][0]).toMatchObject({ TTL: '20s', LockDelay: 7e9 });
      await c.close();
      expect(consul.state.kv.get('team/gantry/leader')?.Session).toBeUndefined();
    } finally {
      await consul.close();
    }
  });
});

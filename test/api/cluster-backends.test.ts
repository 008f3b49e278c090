import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { buildDeps } from '../../src/deps.js';
import { VaultSecretStore } from '../../src/secrets/vault/vault-secret-store.js';
import { createLogger } from '../../src/shared/logger.js';
import { ConsulStateStore } from '../../src/state/consul/consul-state-store.js';
import { createConsulDouble, type ConsulDouble } from '../doubles/consul/consul-double.js';
import { MemoryScheduler } from '../doubles/memory-scheduler.js';
import { createVaultDouble, type VaultDouble } from '../doubles/vault/vault-double.js';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

/** Issue 8: CONSUL_HTTP_ADDR and VAULT_ADDR pick the cluster's state and secret stores. */
describe('a server on Consul and Vault', () => {
  let consul: ConsulDouble;
  let vault: VaultDouble;
  let server: TestServer;
  const logs: string[] = [];

  beforeAll(async () => {
    consul = await createConsulDouble({ aclToken: 'consul-acl-token' });
    vault = await createVaultDouble();
    server = await createTestServer({
      env: { CONSUL_HTTP_ADDR: consul.url, CONSUL_HTTP_TOKEN: 'consul-acl-token', VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken },
      logger: createLogger({ level: 'trace', destination: { write: (line: string) => void logs.push(line) } }),
    });
  });
  afterAll(async () => {
    await server.close();
    await consul.close();
    await vault.close();
  });

  it('keeps state in Consul KV and secrets in Vault', () => {
    expect(server.deps.state).toBeInstanceOf(ConsulStateStore);
    expect(server.deps.secrets).toBeInstanceOf(VaultSecretStore);
    expect(consul.state.kv.list('gantry/').length).toBeGreaterThan(0);
  });

  it('puts a secret created through the API in Vault KV v2, and its value nowhere else', async () => {
    const value = `value-${Date.now()}-never-elsewhere`;
    const created = await server.app.inject({ method: 'POST', url: '/v1/deployments/secrets', headers: server.auth, payload: { name: 'HF_TOKEN', value } });
    expect(created.statusCode).toBe(200);
    const listed = await server.app.inject({ method: 'GET', url: '/v1/deployments/secrets', headers: server.auth });
    expect(vault.engine().read('gantry/secrets/HF_TOKEN')?.data).toEqual({ value });
    expect(await server.deps.secrets.reveal('HF_TOKEN')).toBe(value);
    const consulBytes = consul.state.kv.list('').map((e) => e.Value?.toString('utf8') ?? '').join('\n');
    for (const text of [created.body, listed.body, consulBytes, logs.join('\n')]) expect(text).not.toContain(value);
  });

  it('refuses to start when Vault turns the credentials down', async () => {
    const config = loadConfig({ env: { GANTRY_DATA_DIR: server.dataDir, VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.wrong' } });
    await expect(buildDeps(config, { logger: createLogger({ level: 'silent' }), scheduler: new MemoryScheduler() })).rejects.toThrow(/cannot log in to Vault.*permission denied/);
  });
});

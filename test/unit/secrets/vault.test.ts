import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConsulClient } from '../../../src/clients/consul/index.js';
import { VaultAuth, type VaultAuthMethod } from '../../../src/secrets/vault/vault-auth.js';
import { createVaultClient } from '../../../src/secrets/vault/vault-client.js';
import { VaultKv } from '../../../src/secrets/vault/vault-kv.js';
import { VaultSecretStore } from '../../../src/secrets/vault/vault-secret-store.js';
import { VaultWorkloadSecrets } from '../../../src/secrets/vault/vault-workload-secrets.js';
import { systemClock } from '../../../src/shared/clock.js';
import { createLogger } from '../../../src/shared/logger.js';
import { ConsulStateStore } from '../../../src/state/consul/consul-state-store.js';
import { createConsulDouble, type ConsulDouble } from '../../doubles/consul/consul-double.js';
import { createVaultDouble, type VaultDouble } from '../../doubles/vault/vault-double.js';

const silent = createLogger({ level: 'silent' });

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Vault secrets', () => {
  let vault: VaultDouble;
  let consul: ConsulDouble;
  const auths: VaultAuth[] = [];
  beforeAll(async () => {
    vault = await createVaultDouble({ mounts: ['secret', 'kv'] });
    consul = await createConsulDouble();
  });
  afterEach(() => auths.splice(0).forEach((a) => a.stop()));
  afterAll(async () => {
    await vault.close();
    await consul.close();
  });

  async function kvWith(method: VaultAuthMethod, mount = 'secret'): Promise<VaultKv> {
    const client = createVaultClient({ address: vault.url, timeoutMs: 5_000 });
    const auth = new VaultAuth(client, method, silent);
    auths.push(auth);
    await auth.start();
    return new VaultKv(client, mount, auth);
  }

  it('keeps a secret value in Vault KV v2 under <prefix>/secrets/<name> and never in Consul', async () => {
    const state = new ConsulStateStore(new ConsulClient({ address: consul.url }), 'gantry/');
    const store = new VaultSecretStore(state, await kvWith({ kind: 'token', token: vault.rootToken }, 'kv'), systemClock, 'team-a');
    const value = `v-${Date.now()}-unmistakable`;
    await store.create({ name: 'OPENAI_KEY', value, description: 'd' }, 'alice');
    expect(vault.engine('kv').read('team-a/secrets/OPENAI_KEY')?.data).toEqual({ value });
    const everything = consul.state.kv.list('').map((e) => e.Value?.toString('utf8') ?? '').join('\n');
    expect(everything).toContain('OPENAI_KEY');
    expect(everything).not.toContain(value);
    await store.update('OPENAI_KEY', { name: 'team/key' }, 'bob');
    expect(vault.engine('kv').read('team-a/secrets/OPENAI_KEY')).toBeUndefined();
    expect(vault.engine('kv').read('team-a/secrets/team,2Fkey')?.data).toEqual({ value });
    await store.delete('team/key');
    expect(vault.engine('kv').secrets.size).toBe(0);
  });

  it('logs in with AppRole and logs in again when renewal is capped by the max TTL', async () => {
    vault.addAppRole({ roleId: 'role-1', secretId: 'secret-1', ttlSeconds: 3, maxTtlSeconds: 4 });
    const before = vault.tokens.logins;
    const kv = await kvWith({ kind: 'approle', roleId: 'role-1', secretId: 'secret-1' });
    expect(vault.tokens.logins).toBe(before + 1);
    await until(() => vault.tokens.logins >= before + 2);
    await kv.write('approle/check', { a: '1' });
    expect((await kv.read('approle/check'))?.data).toEqual({ a: '1' });
  });

  it('renews a renewable token before it expires', async () => {
    const token = vault.createToken({ ttlSeconds: 3, maxTtlSeconds: 3600 });
    const kv = await kvWith({ kind: 'token', token: token.id });
    await new Promise((r) => setTimeout(r, 4_000));
    expect(vault.tokens.lookup(token.id)).toBeDefined();
    await kv.write('renewed/check', { a: '1' });
  });

  it('logs in again with AppRole when a call answers 403 (token revoked)', async () => {
    vault.addAppRole({ roleId: 'role-2', secretId: 'secret-2', ttlSeconds: 600 });
    const client = createVaultClient({ address: vault.url });
    const auth = new VaultAuth(client, { kind: 'approle', roleId: 'role-2', secretId: 'secret-2' }, silent);
    auths.push(auth);
    await auth.start();
    vault.tokens.revoke(client.token);
    const kv = new VaultKv(client, 'secret', auth);
    await kv.write('revoked/check', { a: '1' });
    expect((await kv.read('revoked/check'))?.data).toEqual({ a: '1' });
  });

  it('refuses to start with a bad AppRole secret id', async () => {
    vault.addAppRole({ roleId: 'role-3', secretId: 'right', ttlSeconds: 600 });
    await expect(kvWith({ kind: 'approle', roleId: 'role-3', secretId: 'wrong' })).rejects.toThrow(/invalid secret id/);
  });

  it('writes a job environment where its Nomad template reads it, and removes it', async () => {
    const workload = new VaultWorkloadSecrets(await kvWith({ kind: 'token', token: vault.rootToken }));
    const path = { namespace: 'default', jobId: 'gantry-dep-abc' };
    await workload.put(path, { API_KEY: 'k1', GANTRY_WORKER_TOKEN: 't1' });
    expect(workload.templatePath(path)).toBe('secret/data/default/gantry-dep-abc/env');
    expect(vault.engine('secret').read('default/gantry-dep-abc/env')?.data).toEqual({ API_KEY: 'k1', GANTRY_WORKER_TOKEN: 't1' });
    await workload.put(path, { API_KEY: 'k2' });
    expect(vault.engine('secret').read('default/gantry-dep-abc/env')?.data).toEqual({ API_KEY: 'k2' });
    await workload.remove(path);
    await workload.remove(path);
    expect(vault.engine('secret').read('default/gantry-dep-abc/env')).toBeUndefined();
  });

  it('refuses job paths and variable names that would not render safely', async () => {
    const workload = new VaultWorkloadSecrets(await kvWith({ kind: 'token', token: vault.rootToken }));
    await expect(workload.put({ namespace: 'default', jobId: '../x' }, {})).rejects.toThrow(/job id/);
    await expect(workload.put({ namespace: 'a/b', jobId: 'j' }, {})).rejects.toThrow(/namespace/);
    await expect(workload.put({ namespace: 'default', jobId: 'j' }, { 'BAD-NAME': 'x' })).rejects.toThrow(/variable name/);
  });
});

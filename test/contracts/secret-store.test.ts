import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConsulClient } from '../../src/clients/consul/index.js';
import { LocalSecretStore } from '../../src/secrets/local/local-secret-store.js';
import { VaultAuth } from '../../src/secrets/vault/vault-auth.js';
import { createVaultClient } from '../../src/secrets/vault/vault-client.js';
import { VaultKv } from '../../src/secrets/vault/vault-kv.js';
import { VaultSecretStore } from '../../src/secrets/vault/vault-secret-store.js';
import { createLogger } from '../../src/shared/logger.js';
import { ConsulStateStore } from '../../src/state/consul/consul-state-store.js';
import { systemClock } from '../../src/shared/clock.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-store.js';
import type { StateStore } from '../../src/state/state-store.js';
import { createConsulDouble, type ConsulDouble } from '../doubles/consul/consul-double.js';
import { MemoryStateStore } from '../doubles/memory-state-store.js';
import { createVaultDouble, type VaultDouble } from '../doubles/vault/vault-double.js';
import { describeSecretStoreContract } from './secret-store.contract.js';

/** Every StateStore opened for the suite, closed (and its directory removed) at the end. */
const opened: Array<{ state: StateStore; dir?: string }> = [];
afterAll(async () => {
  for (const { state, dir } of opened) {
    await state.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

function localStoreOver(state: StateStore, dir?: string): LocalSecretStore {
  opened.push({ state, dir });
  return new LocalSecretStore(state, randomBytes(32), systemClock);
}

describeSecretStoreContract('local over the memory double', async () => localStoreOver(new MemoryStateStore()));

describeSecretStoreContract('local over sqlite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-secrets-'));
  return localStoreOver(new SqliteStateStore(path.join(dir, 'state.db')), dir);
});

/** The cluster: records in Consul KV (the double), values in Vault KV v2 (the double). */
let vault: VaultDouble | undefined;
let consul: ConsulDouble | undefined;
let consulStores = 0;
afterAll(async () => {
  await vault?.close();
  await consul?.close();
});

async function vaultStoreOver(state: StateStore, address: string, token: string, mount: string): Promise<VaultSecretStore> {
  opened.push({ state });
  const client = createVaultClient({ address });
  const auth = new VaultAuth(client, { kind: 'token', token }, createLogger({ level: 'silent' }));
  await auth.start();
  return new VaultSecretStore(state, new VaultKv(client, mount, auth), systemClock, 'gantry-contract');
}

describeSecretStoreContract('vault double, records in the consul double', async () => {
  vault ??= await createVaultDouble();
  consul ??= await createConsulDouble();
  // A fresh key prefix per test: each test starts with no records, as with the other stores.
  const state = new ConsulStateStore(new ConsulClient({ address: consul.url }), `gantry-secrets-${++consulStores}/`);
  return vaultStoreOver(state, vault.url, vault.rootToken, 'secret');
});

// Runs after the suites above: every secret a run creates is deleted, its Vault value with all versions.
describe('SecretStore contract cleanup', () => {
  it('leaves no value in Vault and no record in Consul', () => {
    expect(consulStores).toBeGreaterThan(5);
    expect([...vault!.engine('secret').secrets.keys()]).toEqual([]);
    expect(consul!.state.kv.list('').map((e) => e.Key)).toEqual([]);
  });
});

describe.skipIf(!process.env.VAULT_ADDR || !process.env.VAULT_TOKEN)('real Vault', () => {
  describeSecretStoreContract(`vault at ${process.env.VAULT_ADDR}`, async () =>
    vaultStoreOver(new MemoryStateStore(), process.env.VAULT_ADDR!, process.env.VAULT_TOKEN!, 'secret'),
  );
});

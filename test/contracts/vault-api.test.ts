import { describe, expect, it } from 'vitest';
import { createVaultDouble, type VaultDouble } from '../doubles/vault/vault-double.js';
import { describeVaultApiContract } from './vault-api.contract.js';

/** The doubles the suite ran against, with their mount, to check afterwards that nothing was left in them. */
const doubles: Array<{ vault: VaultDouble; mount: string }> = [];

describeVaultApiContract('double', async () => {
  const vault = await createVaultDouble({ mounts: ['secret'] });
  doubles.push({ vault, mount: 'secret' });
  return { url: vault.url, token: vault.rootToken, mount: 'secret', close: () => vault.close() };
});

describeVaultApiContract('double with another mount and a short-lived token', async () => {
  const vault = await createVaultDouble({ mounts: ['kv-gantry'] });
  doubles.push({ vault, mount: 'kv-gantry' });
  const token = vault.createToken({ ttlSeconds: 600, policies: ['gantry'] });
  return { url: vault.url, token: token.id, mount: 'kv-gantry', close: () => vault.close() };
});

// Runs after the suites above: a run deletes every key it wrote (versions and metadata).
describe('Vault API contract cleanup', () => {
  it('leaves no key behind in the Vault it ran against', () => {
    expect(doubles).toHaveLength(2);
    expect(doubles.flatMap(({ vault, mount }) => [...vault.engine(mount).secrets.keys()])).toEqual([]);
  });
});

describe.skipIf(!process.env.VAULT_ADDR || !process.env.VAULT_TOKEN)('real Vault', () => {
  describeVaultApiContract(`real Vault at ${process.env.VAULT_ADDR}`, async () => ({
    url: process.env.VAULT_ADDR!.replace(/\/$/, ''),
    token: process.env.VAULT_TOKEN!,
    mount: 'secret',
    close: async () => {},
  }));
});

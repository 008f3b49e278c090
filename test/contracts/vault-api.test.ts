import { describe } from 'vitest';
import { createVaultDouble } from '../doubles/vault/vault-double.js';
import { describeVaultApiContract } from './vault-api.contract.js';

describeVaultApiContract('double', async () => {
  const vault = await createVaultDouble({ mounts: ['secret'] });
  return { url: vault.url, token: vault.rootToken, mount: 'secret', close: () => vault.close() };
});

describeVaultApiContract('double with another mount and a short-lived token', async () => {
  const vault = await createVaultDouble({ mounts: ['kv-gantry'] });
  const token = vault.createToken({ ttlSeconds: 600, policies: ['gantry'] });
  return { url: vault.url, token: token.id, mount: 'kv-gantry', close: () => vault.close() };
});

describe.skipIf(!process.env.VAULT_ADDR || !process.env.VAULT_TOKEN)('real Vault', () => {
  describeVaultApiContract(`real Vault at ${process.env.VAULT_ADDR}`, async () => ({
    url: process.env.VAULT_ADDR!.replace(/\/$/, ''),
    token: process.env.VAULT_TOKEN!,
    mount: 'secret',
    close: async () => {},
  }));
});

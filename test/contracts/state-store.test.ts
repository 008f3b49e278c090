import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe } from 'vitest';
import { ConsulClient } from '../../src/clients/consul/index.js';
import { ConsulStateStore } from '../../src/state/consul/consul-state-store.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-store.js';
import { createConsulDouble, type ConsulDouble } from '../doubles/consul/consul-double.js';
import { MemoryStateStore } from '../doubles/memory-state-store.js';
import { describeStateStoreContract } from './state-store.contract.js';

describeStateStoreContract('memory double', async () => new MemoryStateStore());

describeStateStoreContract('sqlite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-state-'));
  return new SqliteStateStore(path.join(dir, 'state.db'));
});

/** One Consul double for the file, with ACLs enforced so the store's token is exercised. */
let consul: ConsulDouble | undefined;
afterAll(async () => consul?.close());

describeStateStoreContract('consul over the double', async () => {
  consul ??= await createConsulDouble({ aclToken: 'state-store-token' });
  return new ConsulStateStore(new ConsulClient({ address: consul.url, token: 'state-store-token' }), 'gantry-test/');
});

describe.skipIf(!process.env.CONSUL_HTTP_ADDR)('real Consul', () => {
  describeStateStoreContract(`consul at ${process.env.CONSUL_HTTP_ADDR}`, async () => {
    const client = new ConsulClient({
      address: process.env.CONSUL_HTTP_ADDR!,
      ...(process.env.CONSUL_HTTP_TOKEN ? { token: process.env.CONSUL_HTTP_TOKEN } : {}),
    });
    return new ConsulStateStore(client, 'gantry-contract/');
  });
});

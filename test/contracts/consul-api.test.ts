import { describe } from 'vitest';
import { createConsulDouble } from '../doubles/consul/consul-double.js';
import { describeConsulApiContract } from './consul-api.contract.js';

describeConsulApiContract('double', async () => {
  const consul = await createConsulDouble();
  return { url: consul.url, close: () => consul.close() };
});

describeConsulApiContract('double with ACLs enforced', async () => {
  const consul = await createConsulDouble({ aclToken: 'contract-token' });
  return { url: consul.url, token: 'contract-token', close: () => consul.close() };
});

describe.skipIf(!process.env.CONSUL_HTTP_ADDR)('real Consul', () => {
  describeConsulApiContract(`real Consul at ${process.env.CONSUL_HTTP_ADDR}`, async () => ({
    url: process.env.CONSUL_HTTP_ADDR!.replace(/\/$/, ''),
    ...(process.env.CONSUL_HTTP_TOKEN ? { token: process.env.CONSUL_HTTP_TOKEN } : {}),
    close: async () => {},
  }));
});

import { describe, expect, it } from 'vitest';
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

describe('Consul double ACL enforcement', () => {
  it('answers 403 for a missing or unknown token, as Consul with a default-deny policy does', async () => {
    const consul = await createConsulDouble({ aclToken: 'right' });
    try {
      const anonymous = await fetch(`${consul.url}/v1/kv/a`);
      expect(anonymous.status).toBe(403);
      expect(await anonymous.text()).toContain('Permission denied');
      const unknown = await fetch(`${consul.url}/v1/kv/a`, { headers: { 'x-consul-token': 'wrong' } });
      expect(unknown.status).toBe(403);
      expect(await unknown.text()).toBe('ACL not found');
      const bearer = await fetch(`${consul.url}/v1/kv/a`, { headers: { authorization: 'Bearer right' } });
      expect(bearer.status).toBe(404);
    } finally {
      await consul.close();
    }
  });
});

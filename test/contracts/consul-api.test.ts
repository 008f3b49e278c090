import { describe, expect, it } from 'vitest';
import { createConsulDouble, type ConsulDouble } from '../doubles/consul/consul-double.js';
import { describeConsulApiContract } from './consul-api.contract.js';

/** The doubles the suite ran against, to check afterwards that nothing was left in them. */
const doubles: ConsulDouble[] = [];

describeConsulApiContract('double', async () => {
  const consul = await createConsulDouble();
  doubles.push(consul);
  return { url: consul.url, close: () => consul.close() };
});

describeConsulApiContract('double with ACLs enforced', async () => {
  const consul = await createConsulDouble({ aclToken: 'contract-token' });
  doubles.push(consul);
  return { url: consul.url, token: 'contract-token', close: () => consul.close() };
});

// Runs after the suites above: a run deletes its keys and destroys its sessions.
describe('Consul API contract cleanup', () => {
  it('leaves no key and no session behind in the Consul it ran against', () => {
    expect(doubles).toHaveLength(2);
    expect(doubles.flatMap((d) => d.state.kv.list('').map((e) => e.Key))).toEqual([]);
    expect(doubles.flatMap((d) => [...d.state.sessions.keys()])).toEqual([]);
  });
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

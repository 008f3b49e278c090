import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulClient } from '../../../src/clients/consul/index.js';
import { ConsulStateStore } from '../../../src/state/consul/consul-state-store.js';
import { decodeSafeKey as decodeKey, encodeSafeKey as encodeKey, encodeSafeSegment } from '../../../src/shared/safe-key.js';
import { TxnTooLargeError } from '../../../src/state/state-store.js';
import { ensureLocalTls } from '../../../src/tls/local-ca.js';
import { createConsulDouble, type ConsulDouble } from '../../doubles/consul/consul-double.js';

describe('key codec', () => {
  it.each([
    ['plain', 'queue/jobs/dep-1/req_2'],
    ['percent-encoded name', 'secrets/by-name/my%2Fsecret'],
    ['dots and extensions', 'files/model.json'],
    ['traversal', 'a/../b'],
    ['unicode', 'names/héllo ✓ 🔑'],
    ['the escape character itself', 'a,b'],
  ])('round-trips a key with %s into Consul-safe characters', (_name, key) => {
    const encoded = encodeKey(key);
    expect(encoded).toMatch(/^[A-Za-z0-9,\-_/]*$/);
    expect(encoded).not.toContain('.');
    expect(decodeKey(encoded)).toBe(key);
  });

  it('makes one path segment of any name with encodeSafeSegment', () => {
    for (const name of ['x/y', 'x//y', '..', 'x/y/..', 'x.y']) {
      expect(encodeSafeSegment(name)).toMatch(/^[A-Za-z0-9,\-_]+$/);
      expect(decodeKey(encodeSafeSegment(name))).toBe(name);
    }
  });

  it('keeps prefixes: encode(a) starts with encode(b) exactly when a starts with b', () => {
    const keys = ['a', 'a.', 'a.b', 'a,', 'a/é', 'a/e', 'ab', 'a%'];
    for (const a of keys) for (const b of keys) expect(encodeKey(a).startsWith(encodeKey(b))).toBe(a.startsWith(b));
  });
});

describe('ConsulStateStore', () => {
  let consul: ConsulDouble;
  let old: ConsulDouble;
  beforeAll(async () => {
    consul = await createConsulDouble();
    old = await createConsulDouble({ maxTxnOps: 64 });
  });
  afterAll(async () => {
    await consul.close();
    await old.close();
  });
  const storeOn = (target: ConsulDouble) => new ConsulStateStore(new ConsulClient({ address: target.url }), 'gantry/');

  it('stores keys Consul would refuse, and pages them in key order', async () => {
    const store = storeOn(consul);
    const keys = ['p/x.json', 'p/a%2Fb', 'p/a.b', 'p/a-b', 'p/é'];
    for (const key of keys) await store.put(key, key);
    const sorted = [...keys].sort();
    expect((await store.list('p/')).map((e) => e.key)).toEqual(sorted);
    const first = await store.list('p/', { limit: 2 });
    const rest = await store.list('p/', { after: first.at(-1)!.key });
    expect([...first, ...rest].map((e) => e.value)).toEqual(sorted);
    expect(consul.state.kv.get('gantry/p/x,2Ejson')?.Value?.toString()).toBe('p/x.json');
  });

  it('reports a Consul older than 1.14 refusing 128 operations as TxnTooLargeError', async () => {
    const store = storeOn(old);
    const ops = Array.from({ length: 100 }, (_, i) => ({ verb: 'set' as const, key: `many/${i}`, value: 'v' }));
    await expect(store.txn(ops)).rejects.toThrow(TxnTooLargeError);
    await expect(store.txn(ops)).rejects.toThrow(/Consul 1\.14/);
  });

  it('refuses a prefix that is not a run of safe segments', () => {
    expect(() => new ConsulStateStore(new ConsulClient({ address: consul.url }), 'gantry')).toThrow(TypeError);
  });
});

describe('ConsulStateStore transport settings', () => {
  it('talks TLS to an agent whose certificate the CA file vouches for, and refuses it without', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gantry-consul-tls-'));
    const tls = await ensureLocalTls({ dir, hostnames: [] });
    const secure = await createConsulDouble({ https: { cert: tls.cert, key: tls.key } });
    try {
      expect(secure.url).toMatch(/^https:/);
      const trusted = new ConsulStateStore(new ConsulClient({ address: secure.url, caFile: tls.caCertFile }), 'gantry/');
      await trusted.put('tls/a', '1');
      expect((await trusted.get('tls/a'))?.value).toBe('1');
      const untrusted = new ConsulStateStore(new ConsulClient({ address: secure.url, attempts: 1 }), 'gantry/');
      await expect(untrusted.get('tls/a')).rejects.toThrow(/certificate/);
    } finally {
      await secure.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sends the configured datacenter with every call', async () => {
    const consul = await createConsulDouble({ datacenter: 'eu-west' });
    try {
      const right = new ConsulStateStore(new ConsulClient({ address: consul.url, datacenter: 'eu-west' }), 'gantry/');
      await right.put('dc/a', '1');
      const wrong = new ConsulStateStore(new ConsulClient({ address: consul.url, datacenter: 'us-east' }), 'gantry/');
      await expect(wrong.get('dc/a')).rejects.toThrow(/No path to datacenter/);
    } finally {
      await consul.close();
    }
  });
});

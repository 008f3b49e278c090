import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulClient } from '../../../src/clients/consul/index.js';
import { ConsulStateStore } from '../../../src/state/consul/consul-state-store.js';
import type { KvEntry } from '../../../src/state/state-store.js';
import { createConsulDouble, type ConsulDouble } from '../../doubles/consul/consul-double.js';

const PAGE = 100;

/** Every entry under `prefix`, a page at a time, as the queue's rebuild and sweeps read the jobs. */
async function scan(store: ConsulStateStore, prefix: string, onPage: (page: KvEntry[]) => Promise<void> = async () => {}): Promise<KvEntry[]> {
  const all: KvEntry[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.list(prefix, { limit: PAGE, ...(after ? { after } : {}) });
    if (page.length === 0) return all;
    all.push(...page);
    await onPage(page);
    after = page.at(-1)!.key;
  }
}

async function fill(store: ConsulStateStore, prefix: string, count: number): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(6, '0')}`);
  for (let i = 0; i < keys.length; i += 120) {
    const result = await store.txn(keys.slice(i, i + 120).map((key) => ({ verb: 'set' as const, key, value: key })));
    expect(result.ok).toBe(true);
  }
  return keys;
}

describe('ConsulStateStore paging', () => {
  let consul: ConsulDouble;
  let store: ConsulStateStore;
  beforeAll(async () => {
    consul = await createConsulDouble();
    store = new ConsulStateStore(new ConsulClient({ address: consul.url }), 'gantry/');
  });
  afterAll(async () => {
    await store.close();
    await consul.close();
  });

  /** Key names and entries Consul served for one scan of `prefix`. */
  async function itemsReadByScan(prefix: string): Promise<{ items: number; keys: string[] }> {
    const before = consul.state.kvItemsRead;
    const keys = (await scan(store, prefix)).map((e) => e.key);
    return { items: consul.state.kvItemsRead - before, keys };
  }

  it('reads each key name and entry about once per scan, however many pages (linear, not quadratic)', async () => {
    const small = await fill(store, 'linear-s/', 500);
    const large = await fill(store, 'linear-l/', 2_000);
    const s = await itemsReadByScan('linear-s/');
    const l = await itemsReadByScan('linear-l/');
    expect(s.keys).toEqual(small);
    expect(l.keys).toEqual(large);
    // One listing of the names, one read of each entry (plus the empty last page's listing).
    expect(l.items).toBeLessThanOrEqual(2 * large.length + PAGE);
    // Four times the keys cost about four times the reads, not sixteen.
    expect(l.items / s.items).toBeLessThan(5);
  });

  it('within a scan, skips keys deleted after the listing and reads current values', async () => {
    const keys = await fill(store, 'moving/', 250);
    let first = true;
    const seen = await scan(store, 'moving/', async () => {
      if (!first) return;
      first = false;
      await store.delete(keys[150]!);
      await store.put(keys[200]!, 'changed');
    });
    expect(seen.map((e) => e.key)).toEqual(keys.filter((k) => k !== keys[150]));
    expect(seen.find((e) => e.key === keys[200])?.value).toBe('changed');
  });

  it('a new scan lists afresh: keys written since the last scan are there', async () => {
    const keys = await fill(store, 'fresh/', 150);
    expect((await scan(store, 'fresh/')).map((e) => e.key)).toEqual(keys);
    await store.put('fresh/zzz', 'new');
    expect((await scan(store, 'fresh/')).map((e) => e.key)).toEqual([...keys, 'fresh/zzz']);
  });

  it('a page asked with another cursor than the one a page ended at is listed afresh, in order', async () => {
    const keys = await fill(store, 'cursor/', 300);
    await store.list('cursor/', { limit: PAGE });
    const page = await store.list('cursor/', { limit: 10, after: keys[42]! });
    expect(page.map((e) => e.key)).toEqual(keys.slice(43, 53));
  });
});

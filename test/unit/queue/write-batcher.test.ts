import { describe, expect, it } from 'vitest';
import { WriteBatcher } from '../../../src/queue/write-batcher.js';
import { MAX_TXN_OPS } from '../../../src/state/state-store.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';

describe('WriteBatcher', () => {
  it('commits concurrent writes in one transaction and resolves every caller after it', async () => {
    const store = new MemoryStateStore();
    const batcher = new WriteBatcher(store);
    await Promise.all(Array.from({ length: 50 }, (_, i) => batcher.write([{ verb: 'set', key: `k/${i}`, value: String(i) }])));
    expect(store.calls.filter((c) => c.method === 'txn')).toHaveLength(1);
    expect(await store.list('k/')).toHaveLength(50);
  });

  it('splits batches at the transaction limit without splitting one caller', async () => {
    const store = new MemoryStateStore();
    const batcher = new WriteBatcher(store);
    const ops = (p: number) => Array.from({ length: 100 }, (_, i) => ({ verb: 'set' as const, key: `${p}/${i}`, value: 'v' }));
    await Promise.all([batcher.write(ops(1)), batcher.write(ops(2)), batcher.write(ops(3))]);
    expect(store.calls.filter((c) => c.method === 'txn')).toHaveLength(3);
  });

  it('rejects every caller of a batch whose commit failed, and keeps working after', async () => {
    const store = new MemoryStateStore();
    const batcher = new WriteBatcher(store);
    store.failNext(new Error('disk gone'));
    const results = await Promise.allSettled([
      batcher.write([{ verb: 'set', key: 'a', value: '1' }]),
      batcher.write([{ verb: 'set', key: 'b', value: '1' }]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await batcher.write([{ verb: 'set', key: 'c', value: '1' }]);
    expect((await store.get('c'))?.value).toBe('1');
  });

  describe('with a leadership fence', () => {
    const fence = (index: number) => ({ verb: 'check-index' as const, key: 'leader', index });
    const set = (key: string) => [{ verb: 'set' as const, key, value: '1' }];

    it('puts the fence first in every transaction', async () => {
      const store = new MemoryStateStore();
      const index = await store.put('leader', 'https://a:1');
      const batcher = new WriteBatcher(store);
      batcher.open(fence(index));
      await Promise.all([batcher.write(set('a')), batcher.write(set('b'))]);
      const txns = store.calls.filter((c) => c.method === 'txn');
      expect(txns).toHaveLength(1);
      expect((await store.list(''))!.map((e) => e.key)).toEqual(['a', 'b', 'leader']);
    });

    it('refuses a deposed leader\'s batch as GANTRY_ERR_NOT_LEADER, writes none of it, and refuses later writes', async () => {
      const store = new MemoryStateStore();
      const index = await store.put('leader', 'https://a:1');
      const batcher = new WriteBatcher(store);
      batcher.open(fence(index));
      await store.put('leader', 'https://b:2');
      const results = await Promise.allSettled([batcher.write(set('a')), batcher.write(set('b'))]);
      for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'GANTRY_ERR_NOT_LEADER', status: 503 } });
      await expect(batcher.write(set('c'))).rejects.toMatchObject({ code: 'GANTRY_ERR_NOT_LEADER' });
      expect(await store.get('a')).toBeUndefined();
      const next = (await store.get('leader'))!.modifyIndex;
      batcher.open(fence(next));
      await batcher.write(set('d'));
      expect((await store.get('d'))?.value).toBe('1');
    });

    it('refuses what is still queued once stepped down', async () => {
      const store = new MemoryStateStore();
      const batcher = new WriteBatcher(store);
      const pending = batcher.write(set('a'));
      batcher.refuse();
      await expect(pending).rejects.toMatchObject({ code: 'GANTRY_ERR_NOT_LEADER' });
      expect(await store.get('a')).toBeUndefined();
    });

    it('refuses a write queued under a leadership that ended, even when a new one began before the flush', async () => {
      const store = new MemoryStateStore();
      const first = await store.put('leader', 'https://a:1');
      const batcher = new WriteBatcher(store);
      batcher.open(fence(first));
      const old = batcher.write(set('old'));
      // The leadership ends and this replica wins the next one, all before the group commit flushes.
      batcher.refuse();
      const second = await store.put('leader', 'https://a:1');
      batcher.open(fence(second));
      const fresh = batcher.write(set('new'));
      await expect(old).rejects.toMatchObject({ code: 'GANTRY_ERR_NOT_LEADER' });
      await fresh;
      expect(await store.get('old')).toBeUndefined();
      expect((await store.get('new'))?.value).toBe('1');
    });

    it('never mixes two leaderships in one transaction', async () => {
      const store = new MemoryStateStore();
      const first = await store.put('leader', 'https://a:1');
      const batcher = new WriteBatcher(store);
      batcher.open(fence(first));
      const old = batcher.write(set('old'));
      batcher.open(fence(first)); // a new leadership, though its fence reads the same
      const fresh = batcher.write(set('new'));
      const results = await Promise.allSettled([old, fresh]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
      expect(await store.get('old')).toBeUndefined();
    });

    it('keeps room for the fence: a caller may write MAX_TXN_OPS - 1 operations', async () => {
      const store = new MemoryStateStore();
      const index = await store.put('leader', 'x');
      const batcher = new WriteBatcher(store);
      batcher.open(fence(index));
      const ops = (n: number) => Array.from({ length: n }, (_, i) => ({ verb: 'set' as const, key: `k/${i}`, value: 'v' }));
      await batcher.write(ops(MAX_TXN_OPS - 1));
      await expect(batcher.write(ops(MAX_TXN_OPS))).rejects.toThrow(RangeError);
    });
  });
});

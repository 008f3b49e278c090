import { describe, expect, it } from 'vitest';
import { WriteBatcher } from '../../../src/queue/write-batcher.js';
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
});

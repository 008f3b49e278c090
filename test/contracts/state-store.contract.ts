import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_TXN_BYTES, MAX_TXN_OPS, MAX_VALUE_BYTES, TxnTooLargeError, ValueTooLargeError, type StateStore } from '../../src/state/state-store.js';

/**
 * The StateStore contract: every implementation (memory double, SQLite, Consul KV) must pass it.
 * `makeStore` returns a fresh, empty store; keys are namespaced so a shared real server can run it.
 */
export function describeStateStoreContract(name: string, makeStore: () => Promise<StateStore>): void {
  describe(`StateStore contract: ${name}`, () => {
    let store: StateStore;
    const ns = `contract-${process.pid}-${Date.now()}`;
    const k = (key: string) => `${ns}/${key}`;

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      for (const entry of await store.list(`${ns}/`)) await store.delete(entry.key);
      await store.close();
    });

    it('returns undefined for a key that was never written', async () => {
      expect(await store.get(k('missing'))).toBeUndefined();
    });

    it('reads back a written value with its indexes', async () => {
      const index = await store.put(k('a'), 'héllo ✓');
      const entry = await store.get(k('a'));
      expect(entry).toEqual({ key: k('a'), value: 'héllo ✓', createIndex: index, modifyIndex: index });
    });

    it('keeps createIndex and raises modifyIndex on overwrite', async () => {
      const first = await store.put(k('a'), '1');
      const second = await store.put(k('a'), '2');
      expect(second).toBeGreaterThan(first);
      expect(await store.get(k('a'))).toMatchObject({ value: '2', createIndex: first, modifyIndex: second });
    });

    it('round-trips a large value', async () => {
      const big = 'x'.repeat(300_000);
      await store.put(k('big'), big);
      expect((await store.get(k('big')))?.value).toBe(big);
    });

    it('deletes a key and reports whether it existed', async () => {
      await store.put(k('a'), '1');
      expect(await store.delete(k('a'))).toBe(true);
      expect(await store.get(k('a'))).toBeUndefined();
      expect(await store.delete(k('a'))).toBe(false);
    });

    it('creates with cas index 0 only when the key is absent', async () => {
      expect(await store.cas(k('a'), 'first', 0)).toBe(true);
      expect(await store.cas(k('a'), 'second', 0)).toBe(false);
      expect((await store.get(k('a')))?.value).toBe('first');
    });

    it('refuses a cas with a stale index and accepts the current one', async () => {
      const first = await store.put(k('a'), '1');
      await store.put(k('a'), '2');
      expect(await store.cas(k('a'), 'stale', first)).toBe(false);
      const current = (await store.get(k('a')))!.modifyIndex;
      expect(await store.cas(k('a'), '3', current)).toBe(true);
      expect((await store.get(k('a')))?.value).toBe('3');
    });

    it('lets exactly one of several concurrent cas writers win', async () => {
      const index = await store.put(k('lock'), 'free');
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.cas(k('lock'), `owner-${i}`, index)),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      const winner = outcomes.indexOf(true);
      expect((await store.get(k('lock')))?.value).toBe(`owner-${winner}`);
    });

    it('loses no increment when concurrent writers retry their cas', async () => {
      await store.put(k('counter'), '0');
      const increment = async () => {
        for (;;) {
          const entry = (await store.get(k('counter')))!;
          if (await store.cas(k('counter'), String(Number(entry.value) + 1), entry.modifyIndex)) return;
        }
      };
      await Promise.all(Array.from({ length: 20 }, increment));
      expect((await store.get(k('counter')))?.value).toBe('20');
    });

    it('lists by prefix, sorted by key, and nothing outside the prefix', async () => {
      await store.put(k('jobs/b'), '2');
      await store.put(k('jobs/a'), '1');
      await store.put(k('jobs/a/nested'), '3');
      await store.put(k('jobsx'), 'outside');
      const keys = (await store.list(k('jobs/'))).map((e) => e.key);
      expect(keys).toEqual([k('jobs/a'), k('jobs/a/nested'), k('jobs/b')]);
      expect(await store.list(k('none/'))).toEqual([]);
    });

    it('lists a prefix in pages with after and limit', async () => {
      for (const n of ['a', 'b', 'c', 'd', 'e']) await store.put(k(`page/${n}`), n);
      await store.put(k('pagez'), 'outside');
      const first = await store.list(k('page/'), { limit: 2 });
      expect(first.map((e) => e.value)).toEqual(['a', 'b']);
      const second = await store.list(k('page/'), { after: first.at(-1)!.key, limit: 2 });
      expect(second.map((e) => e.value)).toEqual(['c', 'd']);
      const last = await store.list(k('page/'), { after: second.at(-1)!.key, limit: 2 });
      expect(last.map((e) => e.value)).toEqual(['e']);
      expect(await store.list(k('page/'), { after: last.at(-1)!.key })).toEqual([]);
    });

    it('applies a transaction as a whole, with one shared index', async () => {
      const result = await store.txn([
        { verb: 'set', key: k('t/a'), value: 'A' },
        { verb: 'check-not-exists', key: k('t/b') },
        { verb: 'set', key: k('t/b'), value: 'B' },
        { verb: 'get', key: k('t/a') },
      ]);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.results.map((e) => e.value)).toEqual(['A', 'B', 'A']);
      expect(new Set(result.results.map((e) => e.modifyIndex)).size).toBe(1);
    });

    it('fails a transaction as a whole when one operation fails', async () => {
      const index = await store.put(k('t/existing'), 'keep');
      await store.put(k('t/existing'), 'newer');
      const result = await store.txn([
        { verb: 'set', key: k('t/new'), value: 'must not appear' },
        { verb: 'delete', key: k('t/existing') },
        { verb: 'cas', key: k('t/existing'), value: 'x', index },
      ]);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.errors.map((e) => e.opIndex)).toEqual([2]);
      expect(await store.get(k('t/new'))).toBeUndefined();
      expect((await store.get(k('t/existing')))?.value).toBe('newer');
    });

    it('checks indexes and deletes with cas inside a transaction', async () => {
      const index = await store.put(k('t/a'), '1');
      expect((await store.txn([{ verb: 'check-index', key: k('t/a'), index: index + 1000 }])).ok).toBe(false);
      expect((await store.txn([{ verb: 'check-index', key: k('t/missing'), index: 0 }])).ok).toBe(false);
      expect((await store.txn([{ verb: 'delete-cas', key: k('t/a'), index: index + 1000 }])).ok).toBe(false);
      expect((await store.txn([{ verb: 'delete-cas', key: k('t/a'), index }])).ok).toBe(true);
      expect(await store.get(k('t/a'))).toBeUndefined();
    });

    it('refuses a transaction over the operation limit', async () => {
      const ops = Array.from({ length: MAX_TXN_OPS + 1 }, (_, i) => ({
        verb: 'set' as const,
        key: k(`big/${i}`),
        value: 'v',
      }));
      await expect(store.txn(ops)).rejects.toBeInstanceOf(TxnTooLargeError);
      expect(await store.list(k('big/'))).toEqual([]);
    });

    it('accepts a transaction at the operation limit', async () => {
      const ops = Array.from({ length: MAX_TXN_OPS }, (_, i) => ({
        verb: 'set' as const,
        key: k(`full/${String(i).padStart(3, '0')}`),
        value: String(i),
      }));
      expect((await store.txn(ops)).ok).toBe(true);
      expect(await store.list(k('full/'))).toHaveLength(MAX_TXN_OPS);
    });

    it('accepts a value at MAX_VALUE_BYTES and refuses one byte more, in put, cas and txn', async () => {
      const full = 'é'.repeat(MAX_VALUE_BYTES / 2);
      await store.put(k('limit'), full);
      expect((await store.get(k('limit')))?.value).toBe(full);
      await expect(store.put(k('over'), `${full}x`)).rejects.toBeInstanceOf(ValueTooLargeError);
      await expect(store.cas(k('over'), `${full}x`, 0)).rejects.toBeInstanceOf(ValueTooLargeError);
      await expect(store.txn([{ verb: 'set', key: k('over'), value: `${full}x` }])).rejects.toBeInstanceOf(ValueTooLargeError);
      expect(await store.get(k('over'))).toBeUndefined();
    });

    it('refuses a transaction whose keys and values exceed MAX_TXN_BYTES', async () => {
      const half = 'v'.repeat(MAX_TXN_BYTES / 2);
      const ops = [0, 1, 2].map((i) => ({ verb: 'set' as const, key: k(`bytes/${i}`), value: half }));
      await expect(store.txn(ops)).rejects.toBeInstanceOf(TxnTooLargeError);
      expect(await store.list(k('bytes/'))).toEqual([]);
    });

    it('rejects keys that start with a slash', async () => {
      await expect(store.put('/absolute', 'x')).rejects.toThrow(TypeError);
    });
  });
}

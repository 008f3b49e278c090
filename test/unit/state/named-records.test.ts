import { describe, expect, it } from 'vitest';
import { isAppError } from '../../../src/shared/errors.js';
import { failedOpAt, findNamed, RACE, RecordLayout, retryOnRace } from '../../../src/state/named-records.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';

const layout = new RecordLayout('things', /^thg_/);

describe('RecordLayout', () => {
  // Existing data is read back through these keys: they must never change.
  it.each([
    { name: 'secrets', area: 'secrets', id: 'sec_1', recordName: 'team/api.key', idKey: 'secrets/by-id/sec_1', nameKey: 'secrets/by-name/team%2Fapi%2Ekey' },
    { name: 'volumes', area: 'volumes', id: 'vol_1', recordName: '../x', idKey: 'volumes/by-id/vol_1', nameKey: 'volumes/by-name/%2E%2E%2Fx' },
    { name: 'deployments', area: 'deployments', id: 'dep_1', recordName: 'my-model', idKey: 'deployments/by-id/dep_1', nameKey: 'deployments/by-name/my-model' },
  ])('keeps the $name key layout', ({ area, id, recordName, idKey, nameKey }) => {
    const keys = new RecordLayout(area, /./);
    expect(keys.idKey(id)).toBe(idKey);
    expect(keys.nameKey(recordName)).toBe(nameKey);
    expect(keys.byId).toBe(`${area}/by-id/`);
  });

  it('puts the record cas first and claims a new name behind check-not-exists on a rename', () => {
    const ops = layout.replaceOps({ stored: { id: 'thg_1', name: 'old' }, index: 7 }, { id: 'thg_1', name: 'new' });
    expect(ops.map((op) => [op.verb, op.key])).toEqual([
      ['cas', 'things/by-id/thg_1'],
      ['check-not-exists', 'things/by-name/new'],
      ['set', 'things/by-name/new'],
      ['delete', 'things/by-name/old'],
    ]);
  });

  it('writes only the record when the name is unchanged', () => {
    const ops = layout.replaceOps({ stored: { id: 'thg_1', name: 'same' }, index: 7 }, { id: 'thg_1', name: 'same' });
    expect(ops).toEqual([{ verb: 'cas', key: 'things/by-id/thg_1', value: '{"id":"thg_1","name":"same"}', index: 7 }]);
  });
});

describe('findNamed', () => {
  it('finds a record by id or by name, and tells which index its next write must cas against', async () => {
    const state = new MemoryStateStore();
    await state.txn(layout.insertOps({ id: 'thg_1', name: 'a.b' }));
    const byId = await findNamed(state, layout, 'thg_1');
    expect(byId?.stored).toEqual({ id: 'thg_1', name: 'a.b' });
    expect(await findNamed(state, layout, 'a.b')).toEqual(byId);
    expect(byId?.index).toBe((await state.get('things/by-id/thg_1'))?.modifyIndex);
  });

  it('ignores a name entry whose record no longer carries that name', async () => {
    const state = new MemoryStateStore();
    await state.txn(layout.insertOps({ id: 'thg_1', name: 'a' }));
    await state.put('things/by-id/thg_1', JSON.stringify({ id: 'thg_1', name: 'b' }));
    expect(await findNamed(state, layout, 'a')).toBeUndefined();
  });
});

describe('failedOpAt', () => {
  it('tells which operation of a refused transaction failed', async () => {
    const state = new MemoryStateStore();
    await state.txn(layout.insertOps({ id: 'thg_1', name: 'a' }));
    const result = await state.txn(layout.insertOps({ id: 'thg_2', name: 'a' }));
    expect(failedOpAt(result, 0)).toBe(false);
    expect(failedOpAt(result, 1)).toBe(true);
  });
});

describe('retryOnRace', () => {
  it('runs the attempt again after a lost race', async () => {
    let calls = 0;
    const outcome = await retryOnRace('changing thing "a"', 'thing', async () => (++calls < 3 ? RACE : 'done'));
    expect({ outcome, calls }).toEqual({ outcome: 'done', calls: 3 });
  });

  it('gives up with GANTRY_ERR_STATE_CONFLICT when every attempt loses', async () => {
    const failure = await retryOnRace('changing thing "a"', 'thing', async () => RACE).catch((err: unknown) => err);
    expect(isAppError(failure) && failure.code).toBe('GANTRY_ERR_STATE_CONFLICT');
  });
});

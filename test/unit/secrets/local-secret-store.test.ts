import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../../src/secrets/local/local-secret-store.js';
import { isAppError } from '../../../src/shared/errors.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';
import { FakeClock } from '../../helpers/test-server.js';

const VALUE = 'hunter2-super-secret-✓';

describe('LocalSecretStore', () => {
  let state: MemoryStateStore;
  let key: Buffer;
  let clock: FakeClock;
  let store: LocalSecretStore;

  beforeEach(() => {
    state = new MemoryStateStore();
    key = randomBytes(32);
    clock = new FakeClock();
    store = new LocalSecretStore(state, key, clock);
  });

  /** The raw JSON of the secret's record. */
  async function rawRecord(id: string): Promise<Record<string, unknown> & { sealed: Record<string, string> }> {
    return JSON.parse((await state.get(`secrets/by-id/${id}`))!.value);
  }

  async function setRecord(id: string, record: unknown): Promise<void> {
    await state.put(`secrets/by-id/${id}`, JSON.stringify(record));
  }

  it('never writes the plain value into the StateStore, in any key or value', async () => {
    const { id } = await store.create({ name: 'a/b.c', value: VALUE, description: 'x' }, 'alice');
    await store.update(id, { value: `${VALUE}-2`, name: 'renamed' }, 'bob');
    await store.create({ name: 'other', value: VALUE }, 'alice');
    const entries = await state.list('');
    expect(entries.length).toBeGreaterThanOrEqual(4);
    const encodings = [VALUE, Buffer.from(VALUE).toString('base64'), Buffer.from(VALUE).toString('hex')];
    for (const entry of entries) {
      for (const plain of encodings) expect(`${entry.key}\n${entry.value}`).not.toContain(plain);
    }
  });

  it('stores the documented layout: a sealed A256GCM record and a name index holding the id', async () => {
    const { id } = await store.create({ name: 'team/api.key', value: VALUE }, 'alice');
    const raw = await rawRecord(id);
    expect(raw.sealed).toMatchObject({ v: 1, alg: 'A256GCM' });
    expect(Buffer.from(raw.sealed.iv!, 'base64')).toHaveLength(12);
    expect(Buffer.from(raw.sealed.tag!, 'base64')).toHaveLength(16);
    expect((await state.get('secrets/by-name/team%2Fapi%2Ekey'))?.value).toBe(id);
    expect(id).toMatch(/^sec_[0-9a-f]{32}$/);
  });

  it('uses a fresh IV on every write, even for the same value', async () => {
    const { id } = await store.create({ name: 'a', value: VALUE }, 'alice');
    const before = (await rawRecord(id)).sealed;
    await store.update(id, { value: VALUE }, 'alice');
    const after = (await rawRecord(id)).sealed;
    expect(after.iv).not.toBe(before.iv);
    expect(after.ct).not.toBe(before.ct);
  });

  it('refuses to reveal with a different key, naming the secret', async () => {
    await store.create({ name: 'db-password', value: VALUE }, 'alice');
    const other = new LocalSecretStore(state, randomBytes(32), clock);
    const err = await other.reveal('db-password').catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('GANTRY_ERR_SECRET_UNREADABLE');
    expect((err as Error).message).toContain('db-password');
    expect((err as Error).message).not.toContain(VALUE);
  });

  it.each([
    ['the ciphertext', 'ct'],
    ['the tag', 'tag'],
    ['the IV', 'iv'],
  ])('detects tampering with %s', async (_what, field) => {
    const { id } = await store.create({ name: 'a', value: VALUE }, 'alice');
    const raw = await rawRecord(id);
    const bytes = Buffer.from(raw.sealed[field]!, 'base64');
    bytes[0] = bytes[0]! ^ 0x01;
    await setRecord(id, { ...raw, sealed: { ...raw.sealed, [field]: bytes.toString('base64') } });
    await expect(store.reveal(id)).rejects.toMatchObject({ code: 'GANTRY_ERR_SECRET_UNREADABLE' });
  });

  it('refuses a ciphertext moved into another record (the id is authenticated)', async () => {
    const a = await store.create({ name: 'a', value: VALUE }, 'alice');
    const b = await store.create({ name: 'b', value: 'harmless' }, 'alice');
    const rawB = await rawRecord(b.id);
    await setRecord(b.id, { ...rawB, sealed: (await rawRecord(a.id)).sealed });
    await expect(store.reveal('b')).rejects.toMatchObject({ code: 'GANTRY_ERR_SECRET_UNREADABLE' });
  });

  it('refuses a record in an unknown sealed format', async () => {
    const { id } = await store.create({ name: 'a', value: VALUE }, 'alice');
    const raw = await rawRecord(id);
    await setRecord(id, { ...raw, sealed: { ...raw.sealed, v: 2 } });
    await expect(store.reveal(id)).rejects.toMatchObject({ code: 'GANTRY_ERR_SECRET_UNREADABLE' });
  });

  it('refuses an encryption key that is not 32 bytes', () => {
    expect(() => new LocalSecretStore(state, randomBytes(16), clock)).toThrow(/32 bytes/);
  });

  it('stamps updated_at from the clock and keeps created_at', async () => {
    const created = await store.create({ name: 'a', value: VALUE }, 'alice');
    clock.advance(60_000);
    const updated = await store.update('a', { description: 'later' }, 'bob');
    expect(created.created_at).toBe('2026-01-01T00:00:00.000Z');
    expect(updated).toMatchObject({ created_at: created.created_at, updated_at: '2026-01-01T00:01:00.000Z' });
  });

  it('lets concurrent updates of one secret all succeed by retrying their cas', async () => {
    await store.create({ name: 'a', value: VALUE }, 'alice');
    const descriptions = ['one', 'two', 'three'];
    const txnsBefore = state.calls.filter((c) => c.method === 'txn').length;
    const results = await Promise.all(descriptions.map((d) => store.update('a', { description: d }, d)));
    expect(results.map((r) => r.description)).toEqual(descriptions);
    const final = await store.get('a');
    expect(descriptions).toContain(final?.description);
    expect(final?.last_updated_by).toBe(final?.description);
    // All three read the same index, so two lost a round: 1 + 2 + 3 transactions in all.
    expect(state.calls.filter((c) => c.method === 'txn').length - txnsBefore).toBe(6);
  });

  it('writes create, rename and delete as single transactions', async () => {
    await store.create({ name: 'a', value: VALUE }, 'alice');
    await store.update('a', { name: 'b' }, 'alice');
    await store.delete('b');
    const writes = state.calls.filter((c) => ['put', 'cas', 'delete', 'txn'].includes(c.method));
    expect(writes.map((c) => c.method)).toEqual(['txn', 'txn', 'txn']);
    expect(await state.list('secrets/')).toEqual([]);
  });

  it('passes a StateStore failure through unchanged', async () => {
    const failure = new Error('disk on fire');
    state.failNext(failure);
    await expect(store.create({ name: 'a', value: VALUE }, 'alice')).rejects.toBe(failure);
    expect(await store.list()).toEqual([]);
  });
});

import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecretRecord, SecretStore } from '../../src/secrets/secret-store.js';
import { isAppError } from '../../src/shared/errors.js';

const PUBLIC_FIELDS = [
  'created_at',
  'created_by',
  'description',
  'id',
  'last_updated_by',
  'name',
  'object',
  'updated_at',
].sort();

/**
 * The SecretStore contract: every implementation (local/StateStore, Vault) must pass it. `makeStore`
 * returns a store; names are namespaced per run so a shared real backend can run it, and every assertion
 * only looks at this run's secrets.
 */
export function describeSecretStoreContract(name: string, makeStore: () => Promise<SecretStore>): void {
  describe(`SecretStore contract: ${name}`, () => {
    let store: SecretStore;
    const ns = `contract-${process.pid}-${Date.now()}`;
    const n = (secret: string) => `${ns}/${secret}`;
    /** A value that cannot occur by chance in any field, so finding it anywhere is a leak. */
    const freshValue = () => `v-${randomUUID()}-✓`;

    beforeEach(async () => {
      store = await makeStore();
    });
    // A shared real backend keeps nothing of this run: each secret goes through the store's own delete.
    afterEach(async () => {
      for (const secret of await store.list()) if (secret.name.startsWith(`${ns}/`)) await store.delete(secret.id);
    });

    it('creates a secret and returns only its public fields', async () => {
      const value = freshValue();
      const record = await store.create({ name: n('a'), value, description: 'the A' }, 'alice');
      expect(Object.keys(record).sort()).toEqual(PUBLIC_FIELDS);
      expect(record).toMatchObject({ object: 'secret', name: n('a'), description: 'the A' });
      expect(record).toMatchObject({ created_by: 'alice', last_updated_by: 'alice' });
      expect(Date.parse(record.created_at)).not.toBeNaN();
      expect(record.updated_at).toBe(record.created_at);
      assertNoValue(record, value);
    });

    it('defaults the description to an empty string', async () => {
      const record = await store.create({ name: n('plain'), value: freshValue() }, 'alice');
      expect(record.description).toBe('');
    });

    it('gets a secret by id and by name', async () => {
      const value = freshValue();
      const created = await store.create({ name: n('b'), value }, 'alice');
      expect(await store.get(created.id)).toEqual(created);
      expect(await store.get(n('b'))).toEqual(created);
      assertNoValue(await store.get(created.id), value);
    });

    it('returns undefined for an unknown id or name', async () => {
      expect(await store.get(n('missing'))).toBeUndefined();
      expect(await store.get('sec_00000000000000000000000000000000')).toBeUndefined();
      expect(await store.reveal(n('missing'))).toBeUndefined();
    });

    it('lists every secret without any value', async () => {
      const values = [freshValue(), freshValue()];
      await store.create({ name: n('l1'), value: values[0]! }, 'alice');
      await store.create({ name: n('l2'), value: values[1]! }, 'alice');
      const mine = (await store.list()).filter((s) => s.name.startsWith(`${ns}/`));
      expect(mine.map((s) => s.name).sort()).toEqual([n('l1'), n('l2')]);
      for (const value of values) assertNoValue(mine, value);
    });

    it('reveals the value by id and by name', async () => {
      const value = freshValue();
      const created = await store.create({ name: n('r'), value }, 'alice');
      expect(await store.reveal(created.id)).toBe(value);
      expect(await store.reveal(n('r'))).toBe(value);
    });

    it('round-trips values with unicode, newlines and quotes', async () => {
      const value = 'line one\nliné "two" 🔑 \\ \u0000 end';
      await store.create({ name: n('odd'), value }, 'alice');
      expect(await store.reveal(n('odd'))).toBe(value);
    });

    it('updates the value and records who did it', async () => {
      const created = await store.create({ name: n('u'), value: freshValue() }, 'alice');
      const value = freshValue();
      const updated = await store.update(n('u'), { value }, 'bob');
      expect(updated).toMatchObject({ id: created.id, created_by: 'alice', last_updated_by: 'bob' });
      expect(updated.created_at).toBe(created.created_at);
      expect(Date.parse(updated.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.updated_at));
      expect(await store.reveal(created.id)).toBe(value);
      assertNoValue(updated, value);
    });

    it('updates the description and keeps the value', async () => {
      const value = freshValue();
      const created = await store.create({ name: n('d'), value, description: 'old' }, 'alice');
      const updated = await store.update(created.id, { description: 'new' }, 'alice');
      expect(updated.description).toBe('new');
      expect(await store.get(n('d'))).toEqual(updated);
      expect(await store.reveal(n('d'))).toBe(value);
    });

    it('renames a secret: the new name finds it, the old one no longer does', async () => {
      const value = freshValue();
      const created = await store.create({ name: n('old'), value }, 'alice');
      const renamed = await store.update(n('old'), { name: n('new') }, 'alice');
      expect(renamed).toMatchObject({ id: created.id, name: n('new') });
      expect(await store.get(n('old'))).toBeUndefined();
      expect(await store.get(n('new'))).toEqual(renamed);
      expect(await store.reveal(n('new'))).toBe(value);
    });

    it('accepts an update that repeats the current name (what Jig sends)', async () => {
      await store.create({ name: n('same'), value: freshValue() }, 'alice');
      const value = freshValue();
      const updated = await store.update(n('same'), { name: n('same'), value, description: '' }, 'alice');
      expect(updated.name).toBe(n('same'));
      expect(await store.reveal(n('same'))).toBe(value);
    });

    it('refuses a second secret with a taken name', async () => {
      await store.create({ name: n('dup'), value: freshValue() }, 'alice');
      const err = await rejectionOf(store.create({ name: n('dup'), value: freshValue() }, 'bob'));
      expectCode(err, 'GANTRY_ERR_SECRET_EXISTS');
      expect((err as Error).message).toContain('already exists');
    });

    it('lets exactly one of several concurrent creates of one name win', async () => {
      const values = Array.from({ length: 8 }, freshValue);
      const outcomes = await Promise.allSettled(values.map((value) => store.create({ name: n('race'), value }, 'x')));
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const o of outcomes) if (o.status === 'rejected') expectCode(o.reason, 'GANTRY_ERR_SECRET_EXISTS');
      const winner = outcomes.findIndex((o) => o.status === 'fulfilled');
      expect(await store.reveal(n('race'))).toBe(values[winner]);
      expect((await store.list()).filter((s) => s.name === n('race'))).toHaveLength(1);
    });

    it('refuses to rename onto an existing name and changes neither secret', async () => {
      const first = await store.create({ name: n('one'), value: 'value-one' }, 'alice');
      const second = await store.create({ name: n('two'), value: 'value-two' }, 'alice');
      const err = await rejectionOf(store.update(n('two'), { name: n('one'), value: 'changed' }, 'bob'));
      expectCode(err, 'GANTRY_ERR_SECRET_EXISTS');
      expect(await store.get(n('one'))).toEqual(first);
      expect(await store.get(n('two'))).toEqual(second);
      expect(await store.reveal(n('two'))).toBe('value-two');
    });

    it('fails to update an unknown secret with not-found', async () => {
      expectCode(await rejectionOf(store.update(n('ghost'), { value: 'x' }, 'bob')), 'GANTRY_ERR_SECRET_NOT_FOUND');
    });

    it('deletes by name or id and reports whether it existed', async () => {
      const a = await store.create({ name: n('del-a'), value: freshValue() }, 'alice');
      await store.create({ name: n('del-b'), value: freshValue() }, 'alice');
      expect(await store.delete(n('del-b'))).toBe(true);
      expect(await store.delete(a.id)).toBe(true);
      expect(await store.get(n('del-b'))).toBeUndefined();
      expect(await store.reveal(a.id)).toBeUndefined();
      expect(await store.delete(n('del-b'))).toBe(false);
    });

    it('frees the name on delete so it can be created again', async () => {
      const first = await store.create({ name: n('reuse'), value: freshValue() }, 'alice');
      await store.delete(n('reuse'));
      const value = freshValue();
      const second = await store.create({ name: n('reuse'), value }, 'alice');
      expect(second.id).not.toBe(first.id);
      expect(await store.reveal(n('reuse'))).toBe(value);
      expect(await store.get(first.id)).toBeUndefined();
    });

    it('frees the old name on rename', async () => {
      await store.create({ name: n('from'), value: freshValue() }, 'alice');
      await store.update(n('from'), { name: n('to') }, 'alice');
      const again = await store.create({ name: n('from'), value: 'fresh' }, 'alice');
      expect(again.name).toBe(n('from'));
      expect(await store.reveal(n('from'))).toBe('fresh');
    });

    it('keeps names with slashes and dots distinct from their look-alikes', async () => {
      const names = [n('x/y'), n('x.y'), n('x'), n('x/y/..'), n('x//y')];
      for (const name of names) await store.create({ name, value: `v:${name}` }, 'alice');
      for (const name of names) expect(await store.reveal(name)).toBe(`v:${name}`);
      expect(await store.get(n('x/'))).toBeUndefined();
    });
  });
}

/** Deep scan: the serialized form holds every nested field, so a value hidden anywhere is found. */
function assertNoValue(something: SecretRecord | SecretRecord[] | undefined, value: string): void {
  expect(something).toBeDefined();
  expect(JSON.stringify(something)).not.toContain(value);
  expect(JSON.stringify(something)).not.toContain(JSON.stringify(value).slice(1, -1));
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (err: unknown) => err,
  );
}

function expectCode(err: unknown, code: string): void {
  expect(isAppError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
}

import { describe, expect, it } from 'vitest';
import { KeyService } from '../../../src/auth/key-service.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';

describe('KeyService', () => {
  it('verifies a created key and stores only its hash', async () => {
    const store = new MemoryStateStore();
    const keys = new KeyService(store);
    const { key, info } = await keys.createKey('ci', 'user');
    expect(key).toMatch(/^gantry_[A-Za-z0-9_-]{43}$/);
    expect(await keys.verify(key)).toEqual({ kind: 'user', keyId: info.id, name: 'ci', role: 'user' });
    const stored = (await store.list('')).map((e) => e.value).join('\n');
    expect(stored).not.toContain(key);
    expect(stored).not.toContain(key.slice(7));
  });

  it('rejects unknown, empty and altered keys', async () => {
    const keys = new KeyService(new MemoryStateStore());
    const { key } = await keys.createKey('ci', 'user');
    expect(await keys.verify('')).toBeUndefined();
    expect(await keys.verify('gantry_nope')).toBeUndefined();
    expect(await keys.verify(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
  });

  it('stores --allow-local-source with a user key and hands it to the principal; admin keys need no flag', async () => {
    const keys = new KeyService(new MemoryStateStore());
    const flagged = await keys.createKey('ci', 'user', { allowLocalSource: true });
    expect(flagged.info.allow_local_source).toBe(true);
    expect(await keys.verify(flagged.key)).toMatchObject({ kind: 'user', role: 'user', allowLocalSource: true });
    const admin = await keys.createKey('root', 'admin', { allowLocalSource: true });
    expect(admin.info).not.toHaveProperty('allow_local_source');
    expect(await keys.list()).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'ci', allow_local_source: true })]));
  });

  it('scopes worker tokens to a deployment and replica', async () => {
    const keys = new KeyService(new MemoryStateStore());
    const { key } = await keys.createWorkerToken('dep_1', 'replica-0');
    expect(key.startsWith('gantryw_')).toBe(true);
    expect(await keys.verify(key)).toMatchObject({ kind: 'worker', deploymentId: 'dep_1', replicaId: 'replica-0' });
  });

  it('revokes by id and by unique name, and refuses an ambiguous name', async () => {
    const keys = new KeyService(new MemoryStateStore());
    const a = await keys.createKey('a', 'user');
    const b1 = await keys.createKey('b', 'user');
    await keys.createKey('b', 'user');
    await keys.revoke(a.info.id);
    expect(await keys.verify(a.key)).toBeUndefined();
    await expect(keys.revoke('b')).rejects.toMatchObject({ code: 'GANTRY_ERR_KEY_NOT_FOUND' });
    await keys.revoke(b1.info.id);
    expect(await keys.verify(b1.key)).toBeUndefined();
    await expect(keys.revoke('nobody')).rejects.toMatchObject({ code: 'GANTRY_ERR_KEY_NOT_FOUND' });
  });

  it('revokes the worker tokens of one replica or of a whole deployment', async () => {
    const keys = new KeyService(new MemoryStateStore());
    const r0 = await keys.createWorkerToken('dep_1', 'r0');
    const r1 = await keys.createWorkerToken('dep_1', 'r1');
    const other = await keys.createWorkerToken('dep_2', 'r0');
    expect(await keys.revokeWorkerTokens('dep_1', 'r0')).toBe(1);
    expect(await keys.verify(r0.key)).toBeUndefined();
    expect(await keys.verify(r1.key)).toBeDefined();
    expect(await keys.revokeWorkerTokens('dep_1')).toBe(1);
    expect(await keys.verify(other.key)).toBeDefined();
  });

  it('issues deployment-wide tokens per revision and revokes one revision’s without touching the others', async () => {
    const keys = new KeyService(new MemoryStateStore());
    const [a, a2, b] = [await keys.createWorkerToken('dep_1', undefined, 'rev-a'), await keys.createWorkerToken('dep_1', undefined, 'rev-a'), await keys.createWorkerToken('dep_1', undefined, 'rev-b')];
    const other = await keys.createWorkerToken('dep_2', undefined, 'rev-a');
    expect(a.info).toMatchObject({ name: 'worker:dep_1@rev-a', deployment_id: 'dep_1', revision_id: 'rev-a' });
    expect(await keys.verify(a.key)).toMatchObject({ kind: 'worker', deploymentId: 'dep_1', replicaId: undefined });
    expect(await keys.revokeRevisionTokens('dep_1', 'rev-a')).toBe(2);
    expect([await keys.verify(a.key), await keys.verify(a2.key)]).toEqual([undefined, undefined]);
    expect(await keys.verify(b.key)).toBeDefined();
    expect(await keys.verify(other.key)).toBeDefined();
  });

  it('adopts a configured admin key once, idempotently', async () => {
    const keys = new KeyService(new MemoryStateStore());
    expect(await keys.hasAdminKey()).toBe(false);
    const first = await keys.adoptAdminKey('operator-chosen-admin-key');
    const again = await keys.adoptAdminKey('operator-chosen-admin-key');
    expect(again.id).toBe(first.id);
    expect(await keys.list()).toHaveLength(1);
    expect(await keys.verify('operator-chosen-admin-key')).toMatchObject({ kind: 'user', role: 'admin' });
  });

  it('adopts the same admin key from several replicas starting at once on one store', async () => {
    const store = new MemoryStateStore();
    const replicas = [new KeyService(store), new KeyService(store), new KeyService(store)];
    const adopted = await Promise.all(replicas.map((keys) => keys.adoptAdminKey('shared-admin-key')));
    expect(new Set(adopted.map((k) => k.id)).size).toBe(1);
    expect(await replicas[0]!.list()).toHaveLength(1);
  });
});

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';
import { isAppError, type ErrorCode } from '../../../src/shared/errors.js';
import type { KvEntry } from '../../../src/state/state-store.js';
import type { VolumeContentSpec } from '../../../src/volumes/volume.js';
import { MAX_VOLUMES_PER_DEPLOYMENT, VolumeService } from '../../../src/volumes/volume-service.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';
import { FakeClock } from '../../helpers/test-server.js';

const files = (source_prefix: string): VolumeContentSpec => ({ type: 'files', source_prefix });

/** The error code a rejected promise carries (AppErrors only). */
async function codeOf(promise: Promise<unknown>): Promise<ErrorCode | undefined> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(err)) throw new Error(`expected an AppError, got ${String(err)}`);
  return err.code;
}

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error,
  );
}

describe('VolumeService', () => {
  let dir: string;
  let state: MemoryStateStore;
  let blobs: DirectoryBlobStore;
  let clock: FakeClock;
  let volumes: VolumeService;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gantry-volumes-'));
    state = new MemoryStateStore();
    blobs = new DirectoryBlobStore(path.join(dir, 'files'));
    clock = new FakeClock();
    volumes = new VolumeService({ state, blobs, localPathOf: (prefix) => blobs.localPath(prefix), clock });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const upload = (name: string, content: string) => blobs.write(`uploads/${name}`, Buffer.from(content));

  describe('create and get', () => {
    it('creates version 0 and lists its files relative to the source prefix', async () => {
      await upload('pantry/0/curry.txt', 'cumin');
      await upload('pantry/0/sauces/pesto.txt', 'basil!');
      await upload('pantry/00/other.txt', 'not under pantry/0/');
      const volume = await volumes.create({ name: 'pantry', content: files('pantry/0') });
      expect(volume).toMatchObject({ object: 'volume', name: 'pantry', type: 'readOnly', current_version: 0, mounted_by: [] });
      expect(volume.id).toMatch(/^vol_[0-9a-f]{32}$/);
      expect(volume.content).toMatchObject({ type: 'files', source_prefix: 'pantry/0' });
      expect(volume.content.files.map((f) => [f.name, f.size])).toEqual([
        ['curry.txt', 5],
        ['sauces/pesto.txt', 6],
      ]);
      expect(Date.parse(volume.content.files[0]!.last_modified)).not.toBeNaN();
      expect(volume.version_history).toEqual({ '0': { version: 0, content: files('pantry/0'), mounted_by: [] } });
      expect(volume.created_at).toBe('2026-01-01T00:00:00.000Z');
    });

    it('lists files uploaded after the volume was created (the CLI creates, then uploads)', async () => {
      const volume = await volumes.create({ name: 'pantry', content: files('pantry/0') });
      expect(volume.content.files).toEqual([]);
      await upload('pantry/0/curry.txt', 'cumin');
      expect((await volumes.get('pantry')).content.files.map((f) => f.name)).toEqual(['curry.txt']);
    });

    it('finds a volume by id or by name, and reports an unknown one as GANTRY_ERR_VOLUME_NOT_FOUND', async () => {
      const volume = await volumes.create({ name: 'pantry', content: files('pantry/0') });
      expect(await volumes.get(volume.id)).toEqual(volume);
      expect(await volumes.get('pantry')).toEqual(volume);
      expect(await codeOf(volumes.get('nope'))).toBe('GANTRY_ERR_VOLUME_NOT_FOUND');
    });

    it('refuses a second volume with a taken name, with "already exists" in the message', async () => {
      await volumes.create({ name: 'pantry', content: files('pantry/0') });
      const err = await errorOf(volumes.create({ name: 'pantry', content: files('x/0') }));
      expect(isAppError(err) && err.code).toBe('GANTRY_ERR_VOLUME_EXISTS');
      expect(err.message).toContain('already exists');
    });

    it('lets exactly one of several concurrent creates of one name win', async () => {
      const attempts = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) => volumes.create({ name: 'pantry', content: files(`p/${i}`) })),
      );
      expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
      const refused = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
      expect(refused.map((a) => (a.reason as { code: string }).code)).toEqual(Array(4).fill('GANTRY_ERR_VOLUME_EXISTS'));
      expect(await volumes.list()).toHaveLength(1);
    });

    it('lists every volume in creation order', async () => {
      await volumes.create({ name: 'b', content: files('b/0') });
      await volumes.create({ name: 'a', content: files('a/0') });
      expect((await volumes.list()).map((v) => v.name)).toEqual(['b', 'a']);
    });
  });

  describe('versions', () => {
    beforeEach(async () => {
      await upload('pantry/0/curry.txt', 'cumin');
      await upload('pantry/1/curry.txt', 'cumin, more');
      await upload('pantry/1/salt.txt', 'NaCl');
      await volumes.create({ name: 'pantry', content: files('pantry/0') });
    });

    it('adds version current_version + 1 for new content and keeps the old one in version_history', async () => {
      clock.advance(1000);
      const volume = await volumes.update('pantry', { content: files('pantry/1') });
      expect(volume.current_version).toBe(1);
      expect(volume.content.source_prefix).toBe('pantry/1');
      expect(volume.content.files.map((f) => f.name)).toEqual(['curry.txt', 'salt.txt']);
      expect(Object.keys(volume.version_history)).toEqual(['0', '1']);
      expect(volume.version_history['1']).toEqual({ version: 1, content: files('pantry/1'), mounted_by: [] });
      expect(volume.updated_at).toBe('2026-01-01T00:00:01.000Z');
      expect(volume.created_at).toBe('2026-01-01T00:00:00.000Z');
    });

    it('returns the volume as of an older version with ?version, current_version unchanged', async () => {
      await volumes.update('pantry', { content: files('pantry/1') });
      const old = await volumes.get('pantry', 0);
      expect(old.content.source_prefix).toBe('pantry/0');
      expect(old.content.files.map((f) => [f.name, f.size])).toEqual([['curry.txt', 5]]);
      expect(old.current_version).toBe(1);
      const err = await errorOf(volumes.get('pantry', 7));
      expect(err).toMatchObject({ code: 'GANTRY_ERR_VOLUME_NOT_FOUND', param: 'version' });
      expect(err.message).toContain('versions: 0, 1');
    });

    it('adds no version when the content equals the current one (a retried PATCH)', async () => {
      await volumes.update('pantry', { content: files('pantry/1') });
      clock.advance(1000);
      const again = await volumes.update('pantry', { content: files('pantry/1') });
      expect(again.current_version).toBe(1);
      expect(again.updated_at).toBe('2026-01-01T00:00:00.000Z');
    });

    it('records both versions when two updates race', async () => {
      const results = await Promise.all([
        volumes.update('pantry', { content: files('pantry/1') }),
        volumes.update('pantry', { content: files('pantry/2') }),
      ]);
      expect(results.map((v) => v.current_version).sort()).toEqual([1, 2]);
      const volume = await volumes.get('pantry');
      expect(Object.values(volume.version_history).map((v) => v.content.source_prefix).sort()).toEqual([
        'pantry/0',
        'pantry/1',
        'pantry/2',
      ]);
    });

    it('renames: the new name finds it, the old one no longer does, and a taken name is refused', async () => {
      const { id } = await volumes.get('pantry');
      const renamed = await volumes.update('pantry', { name: 'larder' });
      expect(renamed).toMatchObject({ id, name: 'larder', current_version: 0 });
      expect((await volumes.get('larder')).id).toBe(id);
      expect(await codeOf(volumes.get('pantry'))).toBe('GANTRY_ERR_VOLUME_NOT_FOUND');
      await volumes.create({ name: 'cellar', content: files('cellar/0') });
      expect(await codeOf(volumes.update(id, { name: 'cellar' }))).toBe('GANTRY_ERR_VOLUME_EXISTS');
      expect((await volumes.get(id)).name).toBe('larder');
    });

    it('reports an update of an unknown volume as GANTRY_ERR_VOLUME_NOT_FOUND', async () => {
      expect(await codeOf(volumes.update('nope', { name: 'x' }))).toBe('GANTRY_ERR_VOLUME_NOT_FOUND');
    });
  });

  describe('resolveMount', () => {
    beforeEach(async () => {
      await upload('pantry/1/curry.txt', 'cumin, more');
      await volumes.create({ name: 'pantry', content: files('pantry/0') });
      await volumes.update('pantry', { content: files('pantry/1') });
    });

    it('resolves an omitted version to the current one, with the directory that holds its files', async () => {
      const mount = await volumes.resolveMount('pantry', undefined);
      const { id } = await volumes.get('pantry');
      expect(mount).toEqual({
        volumeId: id,
        name: 'pantry',
        version: 1,
        sourcePrefix: 'pantry/1',
        filesPrefix: expect.stringMatching(new RegExp(`^volumes/${id}/1/[0-9a-f-]{36}$`)),
        hostPath: blobs.localPath(mount.filesPrefix),
      });
      expect(readFileSync(path.join(mount.hostPath, 'curry.txt'), 'utf8')).toBe('cumin, more');
    });

    it('takes an explicit version literally, 0 included, by name or by id', async () => {
      const { id } = await volumes.get('pantry');
      expect(await volumes.resolveMount(id, 0)).toMatchObject({ version: 0, sourcePrefix: 'pantry/0' });
    });

    it('reports an unknown version as GANTRY_ERR_VOLUME_VERSION_NOT_FOUND listing the versions', async () => {
      const err = await errorOf(volumes.resolveMount('pantry', 5));
      expect(err).toMatchObject({ code: 'GANTRY_ERR_VOLUME_VERSION_NOT_FOUND', status: 400 });
      expect(err.message).toContain('versions: 0, 1');
    });

    it('reports an unknown volume as GANTRY_ERR_VOLUME_NOT_FOUND naming it', async () => {
      const err = await errorOf(volumes.resolveMount('spice-rack', 0));
      expect(err).toMatchObject({ code: 'GANTRY_ERR_VOLUME_NOT_FOUND', status: 404 });
      expect(err.message).toContain('spice-rack');
    });
  });

  describe('mounts', () => {
    let pantryId: string;
    let cellarId: string;
    beforeEach(async () => {
      pantryId = (await volumes.create({ name: 'pantry', content: files('pantry/0') })).id;
      await volumes.update('pantry', { content: files('pantry/1') });
      cellarId = (await volumes.create({ name: 'cellar', content: files('cellar/0') })).id;
    });

    it('shows mounting deployments in mounted_by (current version) and in version_history', async () => {
      await volumes.setMounts('dep_b', [{ volumeId: pantryId, version: 1 }]);
      await volumes.setMounts('dep_a', [
        { volumeId: pantryId, version: 1 },
        { volumeId: cellarId, version: 0 },
      ]);
      await volumes.setMounts('dep_old', [{ volumeId: pantryId, version: 0 }]);
      const pantry = await volumes.get('pantry');
      expect(pantry.mounted_by).toEqual(['dep_a', 'dep_b']);
      expect(pantry.version_history['0']!.mounted_by).toEqual(['dep_old']);
      expect(pantry.version_history['1']!.mounted_by).toEqual(['dep_a', 'dep_b']);
      expect((await volumes.get('pantry', 0)).mounted_by).toEqual(['dep_old']);
      expect((await volumes.list()).map((v) => v.mounted_by)).toEqual([['dep_a', 'dep_b'], ['dep_a']]);
    });

    it('replaces a deployment\'s mounts, and records two versions of one volume mounted at two paths', async () => {
      await volumes.setMounts('dep_a', [{ volumeId: cellarId, version: 0 }]);
      await volumes.setMounts('dep_a', [
        { volumeId: pantryId, version: 0 },
        { volumeId: pantryId, version: 1 },
      ]);
      expect((await volumes.get('cellar')).mounted_by).toEqual([]);
      const pantry = await volumes.get('pantry');
      expect(pantry.version_history['0']!.mounted_by).toEqual(['dep_a']);
      expect(pantry.version_history['1']!.mounted_by).toEqual(['dep_a']);
      expect((await state.list('volumes/mounts/')).map((e: KvEntry) => [e.key, e.value])).toEqual([
        [`volumes/mounts/${pantryId}/dep_a`, '{"versions":[0,1]}'],
      ]);
    });

    it('forgets every mount of a deployment with clearMounts', async () => {
      await volumes.setMounts('dep_a', [{ volumeId: pantryId, version: 1 }]);
      await volumes.setMounts('dep_b', [{ volumeId: pantryId, version: 1 }]);
      await volumes.clearMounts('dep_a');
      expect((await volumes.get('pantry')).mounted_by).toEqual(['dep_b']);
    });

    it('refuses mounts of an unknown volume or version and writes none of them', async () => {
      const bad = [{ volumeId: pantryId, version: 1 }, { volumeId: 'vol_00000000000000000000000000000000', version: 0 }];
      expect(await codeOf(volumes.setMounts('dep_a', bad))).toBe('GANTRY_ERR_VOLUME_NOT_FOUND');
      expect(await codeOf(volumes.setMounts('dep_a', [{ volumeId: pantryId, version: 9 }]))).toBe(
        'GANTRY_ERR_VOLUME_VERSION_NOT_FOUND',
      );
      expect(await codeOf(volumes.setMounts('dep_a', [{ volumeId: 'pantry', version: 0 }]))).toBe(
        'GANTRY_ERR_VOLUME_NOT_FOUND',
      );
      expect(await state.list('volumes/mounts/')).toEqual([]);
    });

    it('refuses more than MAX_VOLUMES_PER_DEPLOYMENT volumes in one deployment', async () => {
      const many = Array.from({ length: MAX_VOLUMES_PER_DEPLOYMENT + 1 }, (_, i) => ({ volumeId: `vol_${i}`, version: 0 }));
      expect(await codeOf(volumes.setMounts('dep_a', many))).toBe('GANTRY_ERR_REQUEST_INVALID');
    });
  });

  describe('delete', () => {
    it('deletes the records and keeps the uploaded files', async () => {
      await upload('pantry/0/curry.txt', 'cumin');
      const { id } = await volumes.create({ name: 'pantry', content: files('pantry/0') });
      await volumes.delete('pantry');
      expect(await codeOf(volumes.get(id))).toBe('GANTRY_ERR_VOLUME_NOT_FOUND');
      expect(await state.list('volumes/')).toEqual([]);
      expect(await blobs.stat('uploads/pantry/0/curry.txt')).toMatchObject({ size: 5 });
      // The name is free again.
      expect((await volumes.create({ name: 'pantry', content: files('pantry/0') })).id).not.toBe(id);
    });

    it('is refused with GANTRY_ERR_VOLUME_IN_USE naming the deployments while any version is mounted', async () => {
      const { id } = await volumes.create({ name: 'pantry', content: files('pantry/0') });
      await volumes.update('pantry', { content: files('pantry/1') });
      await volumes.setMounts('dep_old', [{ volumeId: id, version: 0 }]);
      const err = await errorOf(volumes.delete('pantry'));
      expect(err).toMatchObject({ code: 'GANTRY_ERR_VOLUME_IN_USE', status: 409 });
      expect(err.message).toContain('dep_old');
      await volumes.clearMounts('dep_old');
      await volumes.delete(id);
      expect(await volumes.list()).toEqual([]);
    });

    it('is refused when a mount is recorded between its check and its write', async () => {
      const { id } = await volumes.create({ name: 'pantry', content: files('pantry/0') });
      mountDuringNextCheck(state, id, () => volumes.setMounts('dep_a', [{ volumeId: id, version: 0 }]));
      expect(await codeOf(volumes.delete('pantry'))).toBe('GANTRY_ERR_VOLUME_IN_USE');
      expect((await volumes.get(id)).mounted_by).toEqual(['dep_a']);
    });

    it('reports an unknown volume as GANTRY_ERR_VOLUME_NOT_FOUND', async () => {
      expect(await codeOf(volumes.delete('nope'))).toBe('GANTRY_ERR_VOLUME_NOT_FOUND');
    });
  });

  it('finds no files for a prefix that has none on disk and still gives its would-be directory', async () => {
    await volumes.create({ name: 'empty', content: files('empty/0') });
    const mount = await volumes.resolveMount('empty', undefined);
    expect(mount.hostPath).toBe(blobs.localPath(mount.filesPrefix));
    expect(existsSync(mount.hostPath)).toBe(false);
  });

  describe('frozen versions (issue 15 item 2)', () => {
    it('freezes a version on its first mount: later uploads and overwrites change nothing mounted', async () => {
      await upload('pantry/0/curry.txt', 'cumin');
      await volumes.create({ name: 'pantry', content: files('pantry/0') });
      const mount = await volumes.resolveMount('pantry', 0);
      await upload('pantry/0/injected.py', 'import os');
      await upload('pantry/0/curry.txt', 'poison');
      expect(readdirSync(mount.hostPath)).toEqual(['curry.txt']);
      expect(readFileSync(path.join(mount.hostPath, 'curry.txt'), 'utf8')).toBe('cumin');
      expect((await volumes.get('pantry')).content.files.map((f) => [f.name, f.size])).toEqual([['curry.txt', 5]]);
      expect(await volumes.resolveMount('pantry', 0)).toEqual(mount);
    });

    it('lets concurrent first mounts agree on one frozen copy and leaves no other behind', async () => {
      await upload('pantry/0/curry.txt', 'cumin');
      const { id } = await volumes.create({ name: 'pantry', content: files('pantry/0') });
      const mounts = await Promise.all([1, 2, 3].map(() => volumes.resolveMount('pantry', 0)));
      expect(new Set(mounts.map((m) => m.filesPrefix)).size).toBe(1);
      expect((await blobs.list(`volumes/${id}/`)).map((b) => b.name)).toEqual([`${mounts[0]!.filesPrefix}/curry.txt`]);
    });

    it('removes the frozen copies with the volume', async () => {
      await upload('pantry/0/curry.txt', 'cumin');
      const { id } = await volumes.create({ name: 'pantry', content: files('pantry/0') });
      await volumes.resolveMount('pantry', 0);
      await volumes.delete('pantry');
      expect(await blobs.list(`volumes/${id}/`)).toEqual([]);
      expect(await blobs.stat('uploads/pantry/0/curry.txt')).toMatchObject({ size: 5 });
    });
  });
});

/**
 * Makes the delete's "any mounts?" listing of volume `id` answer from before `mount` ran, once, while the
 * mount really lands: the interleaving in which a mount slips in between the delete's check and its write.
 */
function mountDuringNextCheck(state: MemoryStateStore, id: string, mount: () => Promise<void>): void {
  const list = state.list.bind(state);
  let armed = true;
  state.list = async (prefix: string) => {
    if (!armed || prefix !== `volumes/mounts/${id}/`) return list(prefix);
    armed = false;
    const before = await list(prefix);
    await mount();
    return before;
  };
}

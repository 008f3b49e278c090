import { describe, expect, it } from 'vitest';
import { VolumeFileUrls, type VolumeFileGrant } from '../../../src/volumes/volume-file-urls.js';

/** Query parameters of a URL as Fastify hands them to the verifier. */
const queryOf = (url: string) => Object.fromEntries(new URL(url).searchParams);

describe('VolumeFileUrls', () => {
  const grant: VolumeFileGrant = { volumeId: 'vol_a', version: 2, deploymentId: 'dep_1', filename: 'pantry/2/curry.txt' };
  const files = { sourcePrefix: 'pantry/2', filesPrefix: 'volumes/vol_a/2-seal' };
  const live = { versions: new Map([['vol_a@2', files]]), deployments: new Set(['dep_1']) };
  const urls = new VolumeFileUrls({
    key: Buffer.alloc(32, 1),
    versionFiles: async (id, version) => live.versions.get(`${id}@${version}`),
    deploymentExists: async (id) => live.deployments.has(id),
  });
  const url = urls.url('https://gantry.example.com', grant);

  it('renders a storage URL for the file that carries the grant and no expiry', () => {
    expect(url.startsWith('https://gantry.example.com/v1/storage/pantry/2/curry.txt?')).toBe(true);
    expect(queryOf(url)).toMatchObject({ 'X-Gantry-Purpose': 'volume', 'X-Gantry-Volume': 'vol_a', 'X-Gantry-Version': '2', 'X-Gantry-Deployment': 'dep_1' });
    expect(url).not.toContain('Expires');
    expect(urls.claims(queryOf(url))).toBe(true);
    expect(urls.claims({ 'X-Gantry-Purpose': 'download' })).toBe(false);
  });

  it('verifies while the volume version and the deployment exist, and is revoked with either', async () => {
    await expect(urls.verify(grant.filename, queryOf(url))).resolves.toBe('volumes/vol_a/2-seal/curry.txt'); // the frozen copy
    live.deployments.delete('dep_1');
    await expect(urls.verify(grant.filename, queryOf(url))).rejects.toMatchObject({ code: 'GANTRY_ERR_STORAGE_URL_REVOKED' });
    live.deployments.add('dep_1');
    live.versions.delete('vol_a@2');
    await expect(urls.verify(grant.filename, queryOf(url))).rejects.toMatchObject({ code: 'GANTRY_ERR_STORAGE_URL_REVOKED' });
    live.versions.set('vol_a@2', files);
  });

  it('refuses a file outside the version even with a genuine signature for it', async () => {
    const outside = urls.url('https://gantry.example.com', { ...grant, filename: 'private/notes.txt' });
    await expect(urls.verify('private/notes.txt', queryOf(outside))).rejects.toMatchObject({ code: 'GANTRY_ERR_STORAGE_BAD_SIGNATURE' });
  });

  it('refuses a signature made with another key, a missing field and a repeated one', async () => {
    const other = new VolumeFileUrls({ key: Buffer.alloc(32, 2), versionFiles: async () => files, deploymentExists: async () => true });
    await expect(urls.verify(grant.filename, queryOf(other.url('https://x', grant)))).rejects.toMatchObject({ code: 'GANTRY_ERR_STORAGE_BAD_SIGNATURE' });
    const { 'X-Gantry-Deployment': _d, ...missing } = queryOf(url);
    await expect(urls.verify(grant.filename, missing)).rejects.toMatchObject({ code: 'GANTRY_ERR_STORAGE_BAD_SIGNATURE' });
    await expect(urls.verify(grant.filename, { ...queryOf(url), 'X-Gantry-Version': ['2', '2'] })).rejects.toMatchObject({ code: 'GANTRY_ERR_STORAGE_BAD_SIGNATURE' });
  });
});

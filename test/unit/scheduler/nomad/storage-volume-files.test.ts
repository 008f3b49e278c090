import { describe, expect, it } from 'vitest';
import { storageVolumeFiles, type VolumeFileRef } from '../../../../src/scheduler/nomad/storage-volume-files.js';

describe('storageVolumeFiles', () => {
  it('lists the version’s frozen files, each with a URL naming it as uploaded, for that volume version and deployment', async () => {
    const asked: string[] = [];
    const signed: VolumeFileRef[] = [];
    const files = storageVolumeFiles({
      resolve: async (name, version) => ({ volumeId: 'vol_1', sourcePrefix: `${name}/${version}/`, filesPrefix: `volumes/vol_1/${version}-seal` }),
      list: async (prefix) => {
        asked.push(prefix);
        return [`${prefix}curry.txt`, `${prefix}spices/cumin.txt`];
      },
      url: (file) => {
        signed.push(file);
        return `https://gantry.example.com/v1/storage/${file.filename}?sig=${signed.length}`;
      },
    });
    const listed = await files.filesOf({ name: 'pantry', mountPath: '/pantry', version: 2, hostPath: '' }, 'dep-1');
    expect(asked).toEqual(['volumes/vol_1/2-seal/']);
    expect(listed).toEqual([
      { path: 'curry.txt', url: 'https://gantry.example.com/v1/storage/pantry/2/curry.txt?sig=1' },
      { path: 'spices/cumin.txt', url: 'https://gantry.example.com/v1/storage/pantry/2/spices/cumin.txt?sig=2' },
    ]);
    expect(signed).toEqual([
      { volumeId: 'vol_1', version: 2, deploymentId: 'dep-1', filename: 'pantry/2/curry.txt' },
      { volumeId: 'vol_1', version: 2, deploymentId: 'dep-1', filename: 'pantry/2/spices/cumin.txt' },
    ]);
  });
});

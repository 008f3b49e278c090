import { describe, expect, it } from 'vitest';
import { storageVolumeFiles } from '../../../../src/scheduler/nomad/storage-volume-files.js';

describe('storageVolumeFiles', () => {
  it('lists the version’s files under its source prefix with signed URLs, paths relative to the volume', async () => {
    const asked: string[] = [];
    const files = storageVolumeFiles({
      sourcePrefix: async (name, version) => `${name}/${version}/`,
      list: async (prefix) => {
        asked.push(prefix);
        return [`${prefix}curry.txt`, `${prefix}spices/cumin.txt`];
      },
      sign: async (filename) => `https://gantry.example.com/v1/storage/${filename}?signature=s`,
    });
    const listed = await files.filesOf({ name: 'pantry', mountPath: '/pantry', version: 2, hostPath: '' });
    expect(asked).toEqual(['pantry/2/']);
    expect(listed).toEqual([
      { path: 'curry.txt', url: 'https://gantry.example.com/v1/storage/pantry/2/curry.txt?signature=s' },
      { path: 'spices/cumin.txt', url: 'https://gantry.example.com/v1/storage/pantry/2/spices/cumin.txt?signature=s' },
    ]);
  });
});

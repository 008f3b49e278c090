import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SignedUrl } from '../../../cli/src/api/types.js';
import { uploadDirectory, type UploadStorage } from '../../../cli/src/volumes/uploader.js';

/** Storage that records calls and keeps what was PUT; `failPuts` PUTs fail before any succeeds. */
class StorageDouble implements UploadStorage {
  readonly calls: string[] = [];
  readonly stored = new Map<string, Buffer>();
  constructor(public failPuts = 0) {}

  async uploadRequest(filename: string): Promise<{ upload_url: SignedUrl }> {
    this.calls.push(`upload-request ${filename}`);
    return { upload_url: { url: `signed://${filename}`, method: 'PUT' } };
  }
  async put(target: SignedUrl, body: Buffer): Promise<{ etag: string | undefined }> {
    this.calls.push(`put ${target.url}`);
    if (this.failPuts > 0) {
      this.failPuts -= 1;
      throw new Error('connection reset');
    }
    this.stored.set(target.url, body);
    return { etag: `etag-${target.url.split('#')[1] ?? 'x'}` };
  }
  async multipartInit(filename: string, partsCount: number) {
    this.calls.push(`init ${filename} ${partsCount}`);
    const urls = Array.from({ length: partsCount }, (_, i) => ({ part_number: i + 1, url: `signed://${filename}#${i + 1}`, method: 'PUT' }));
    return { upload_id: 'up-1', part_upload_urls: urls };
  }
  async multipartComplete(filename: string, uploadId: string, parts: Array<{ part_number: number; etag: string }>) {
    this.calls.push(`complete ${filename} ${uploadId} ${parts.map((p) => `${p.part_number}:${p.etag}`).join(',')}`);
    return {};
  }
  async multipartAbort(filename: string, uploadId: string) {
    this.calls.push(`abort ${filename} ${uploadId}`);
    return {};
  }
}

function source(files: Record<string, number>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jig-upload-'));
  for (const [name, size] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), Buffer.alloc(size, name.length));
  }
  return dir;
}

const options = { concurrency: 1, thresholdBytes: 1000, chunkBytes: 400, backoffMs: 1 };
const progress = { update: () => undefined };

describe('uploadDirectory', () => {
  it('uploads every file under the prefix by its relative path, largest first', async () => {
    const storage = new StorageDouble();
    await uploadDirectory(storage, source({ 'small.txt': 10, 'nested/big.txt': 900, 'mid.txt': 100 }), 'pantry/0', options, progress);
    expect(storage.calls.filter((c) => c.startsWith('upload-request'))).toEqual([
      'upload-request pantry/0/nested/big.txt',
      'upload-request pantry/0/mid.txt',
      'upload-request pantry/0/small.txt',
    ]);
    expect(storage.stored.get('signed://pantry/0/nested/big.txt')?.length).toBe(900);
  });

  it('sends files at or over the threshold in parts and completes with their ETags', async () => {
    const storage = new StorageDouble();
    await uploadDirectory(storage, source({ 'weights.bin': 1000 }), 'w/1', options, progress);
    expect(storage.calls).toEqual([
      'init w/1/weights.bin 3',
      'put signed://w/1/weights.bin#1',
      'put signed://w/1/weights.bin#2',
      'put signed://w/1/weights.bin#3',
      'complete w/1/weights.bin up-1 1:etag-1,2:etag-2,3:etag-3',
    ]);
    expect([1, 2, 3].map((n) => storage.stored.get(`signed://w/1/weights.bin#${n}`)?.length)).toEqual([400, 400, 200]);
  });

  it('retries a failed upload up to three attempts', async () => {
    const storage = new StorageDouble(2);
    await uploadDirectory(storage, source({ 'a.txt': 5 }), 'v/0', options, progress);
    expect(storage.calls.filter((c) => c.startsWith('put'))).toHaveLength(3);
    expect(storage.stored.has('signed://v/0/a.txt')).toBe(true);
  });

  it('aborts a multipart upload whose part keeps failing', async () => {
    const storage = new StorageDouble(3);
    await expect(uploadDirectory(storage, source({ 'big.bin': 1200 }), 'v/0', options, progress)).rejects.toThrow('connection reset');
    expect(storage.calls.at(-1)).toBe('abort v/0/big.bin up-1');
  });

  it('refuses an empty directory', async () => {
    const dir = source({});
    await expect(uploadDirectory(new StorageDouble(), dir, 'v/0', options, progress)).rejects.toThrow(`No files found in ${dir}`);
  });

  it('reports progress up to every byte and file', async () => {
    const seen: Array<[number, number, number, number]> = [];
    await uploadDirectory(new StorageDouble(), source({ 'a.txt': 5, 'b.txt': 7 }), 'v/0', { ...options, concurrency: 15 }, {
      update: (sent, total, done, files) => seen.push([sent, total, done, files]),
    });
    expect(seen.at(-1)).toEqual([12, 12, 2, 2]);
  });
});

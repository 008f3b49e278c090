import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { StorageApi } from '../api/storage.js';
import { JigError } from '../errors.js';

export interface UploadOptions {
  /** Files in flight at once (default: 15, TOGETHER_UPLOAD_CONCURRENCY). */
  concurrency: number;
  /** Files this large or larger go multipart (default: 100 MiB). */
  thresholdBytes: number;
  /** Multipart part size (default: 20 MiB). */
  chunkBytes: number;
  /** Attempts per file and per part (default: 3), `backoffMs` × attempt apart (default: 1000). */
  attempts?: number;
  backoffMs?: number;
}

/** The storage calls the uploader needs (a narrow role, so tests hand it a double). */
export type UploadStorage = Pick<StorageApi, 'uploadRequest' | 'put' | 'multipartInit' | 'multipartComplete' | 'multipartAbort'>;

export interface UploadProgress {
  /** Called as bytes go out; `file` is the remote name being worked on. */
  update(sentBytes: number, totalBytes: number, doneFiles: number, totalFiles: number, file: string): void;
}

interface LocalFile {
  abs: string;
  remote: string;
  size: number;
}

/**
 * Uploads a directory under `prefix` (compat.md §1.8): remote name `<prefix>/<path relative to source>`,
 * largest files first, `concurrency` at once, each retried; a signed PUT per file below the threshold,
 * multipart (init, parts with their ETags, complete; abort on failure) above it.
 */
export async function uploadDirectory(storage: UploadStorage, source: string, prefix: string, options: UploadOptions, progress: UploadProgress): Promise<void> {
  const files = await listFiles(source, prefix);
  if (!files.length) throw new JigError(`No files found in ${source}`);
  files.sort((a, b) => b.size - a.size);
  const total = files.reduce((n, f) => n + f.size, 0);
  let sent = 0;
  let done = 0;
  const onBytes = (file: string, n: number): void => {
    sent += n;
    progress.update(sent, total, done, files.length, file);
  };
  const queue = [...files];
  const worker = async (): Promise<void> => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      await uploadFile(storage, file, options, (n) => onBytes(file!.remote, n));
      done += 1;
      progress.update(sent, total, done, files.length, file.remote);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, files.length)) }, worker));
}

async function listFiles(source: string, prefix: string): Promise<LocalFile[]> {
  const entries = await readdir(source, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  return Promise.all(
    files.map(async (abs) => ({ abs, remote: `${prefix}/${path.relative(source, abs).split(path.sep).join('/')}`, size: (await stat(abs)).size })),
  );
}

async function uploadFile(storage: UploadStorage, file: LocalFile, options: UploadOptions, onBytes: (n: number) => void): Promise<void> {
  if (file.size >= options.thresholdBytes) return uploadMultipart(storage, file, options, onBytes);
  await retry(options, async () => {
    const { upload_url: target } = await storage.uploadRequest(file.remote);
    await storage.put(target, await readFile(file.abs));
  });
  onBytes(file.size);
}

async function uploadMultipart(storage: UploadStorage, file: LocalFile, options: UploadOptions, onBytes: (n: number) => void): Promise<void> {
  const partsCount = Math.ceil(file.size / options.chunkBytes);
  const init = await storage.multipartInit(file.remote, partsCount);
  const handle = await open(file.abs, 'r');
  try {
    const parts: Array<{ part_number: number; etag: string }> = [];
    for (const part of [...init.part_upload_urls].sort((a, b) => a.part_number - b.part_number)) {
      const offset = (part.part_number - 1) * options.chunkBytes;
      const length = Math.min(options.chunkBytes, file.size - offset);
      const { buffer } = await handle.read(Buffer.alloc(length), 0, length, offset);
      const { etag } = await retry(options, () => storage.put(part, buffer));
      parts.push({ part_number: part.part_number, etag: etag ?? '' });
      onBytes(length);
    }
    await storage.multipartComplete(file.remote, init.upload_id, parts);
  } catch (err) {
    await storage.multipartAbort(file.remote, init.upload_id).catch(() => undefined);
    throw err;
  } finally {
    await handle.close();
  }
}

async function retry<T>(options: UploadOptions, fn: () => Promise<T>): Promise<T> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, (options.backoffMs ?? 1000) * attempt));
    }
  }
}

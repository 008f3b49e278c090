import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { isBlobNameConflictError, isInvalidBlobNameError } from '../blobs/blob-name.js';
import { BlobTooLargeError, type BlobInfo, type BlobStore } from '../blobs/blob-store.js';
import { appError } from '../shared/errors.js';

/** A stored file or part with the hex SHA-256 of its bytes, which is its ETag. */
export interface DigestedBlob {
  info: BlobInfo;
  etag: string;
}

/**
 * Writes `chunks` to `store` under `name`, computing their digest on the way through, and maps the
 * store's refusals onto the error registry.
 */
export async function writeDigested(
  store: BlobStore,
  name: string,
  chunks: AsyncIterable<Uint8Array>,
  maxBytes: number,
): Promise<DigestedBlob> {
  const hash = createHash('sha256');
  const source = Readable.from(digesting(chunks, hash), { objectMode: false });
  try {
    const info = await store.write(name, source, { maxBytes });
    return { info, etag: hash.digest('hex') };
  } catch (err) {
    throw translateWriteError(err, name);
  } finally {
    // Ends the generators, which closes any part file still open after a refused write.
    source.destroy();
  }
}

/**
 * The chunks of a request body. A refused write must not destroy the body: that would reset the socket
 * before the error response goes out. The route closes the connection after answering instead.
 */
export function bodyChunks(body: Readable): AsyncIterable<Uint8Array> {
  return body.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;
}

/** The contents of `names` in `store`, one after the other, streamed (never held in memory). */
export async function* concatenated(store: BlobStore, names: string[]): AsyncGenerator<Uint8Array> {
  for (const name of names) {
    const found = await store.read(name);
    if (!found) throw appError('GANTRY_ERR_STORAGE_PARTS_INVALID', `staged part ${name} disappeared during complete`);
    yield* found.stream as AsyncIterable<Uint8Array>;
  }
}

async function* digesting(chunks: AsyncIterable<Uint8Array>, hash: Hash): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    hash.update(chunk);
    yield chunk;
  }
}

function translateWriteError(err: unknown, name: string): unknown {
  if (err instanceof BlobTooLargeError) {
    return appError('GANTRY_ERR_STORAGE_FILE_TOO_LARGE', `upload is larger than the limit of ${err.maxBytes} bytes`);
  }
  if (isBlobNameConflictError(err)) {
    return appError('GANTRY_ERR_STORAGE_NAME_CONFLICT', err.message, { param: 'filename' });
  }
  if (isInvalidBlobNameError(err)) {
    return appError('GANTRY_ERR_STORAGE_BAD_FILENAME', `filename "${name}" is not allowed: ${err.reason}`);
  }
  return err;
}

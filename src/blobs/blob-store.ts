import type { Readable } from 'node:stream';

/**
 * The BlobStore seam: named files (output files, volume contents, large job payloads). Names are
 * `/`-separated relative paths already validated by the caller (`assertSafeBlobName`). A write is atomic
 * and durable when it resolves: readers see the old file or the complete new one, never a part.
 */
export interface BlobInfo {
  name: string;
  size: number;
  /** RFC 3339 time of the last write. */
  lastModified: string;
}

export interface BlobWriteOptions {
  /** Refuse (and keep nothing) when the source yields more bytes than this. */
  maxBytes?: number;
}

export interface BlobStore {
  write(name: string, source: Readable | Buffer, options?: BlobWriteOptions): Promise<BlobInfo>;
  /** A stream of the content, or undefined when there is no such blob. */
  read(name: string): Promise<{ info: BlobInfo; stream: Readable } | undefined>;
  stat(name: string): Promise<BlobInfo | undefined>;
  delete(name: string): Promise<boolean>;
  /** Every blob whose name starts with `prefix`, sorted by name. */
  list(prefix: string): Promise<BlobInfo[]>;
  /**
   * Stores the current content of `from` as `to` (undefined when `from` does not exist). The copy never
   * changes afterwards, whatever is later written to or deleted at `from`: that is what freezes a volume
   * version. A `to` that exists already is replaced.
   */
  copy(from: string, to: string): Promise<BlobInfo | undefined>;
}

/** The source yielded more than `maxBytes`; nothing was stored. */
export class BlobTooLargeError extends Error {
  override readonly name = 'BlobTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`content exceeds ${maxBytes} bytes`);
  }
}

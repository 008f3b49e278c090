import type { BlobStore } from '../blobs/blob-store.js';
import type { Clock } from '../shared/clock.js';
import type { StateStore } from '../state/state-store.js';

export interface StorageServiceOptions {
  state: StateStore;
  /** Where finished files live. */
  blobs: BlobStore;
  /** Where multipart parts wait for `complete`. */
  staging: BlobStore;
  /** HMAC key for signed URLs. */
  signingKey: Buffer;
  clock: Clock;
  /** Lifetime of a signed URL (default: 3600). */
  ttlSeconds: number;
  /** Largest single upload in bytes. */
  maxUploadBytes: number;
}

/** PLACEHOLDER: signed upload/download URLs, upload tickets and multipart uploads are being written. */
export class StorageService {
  constructor(readonly options: StorageServiceOptions) {}
}

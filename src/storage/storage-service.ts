import type { Readable } from 'node:stream';
import type { Principal } from '../auth/principal.js';
import type { BlobInfo, BlobStore } from '../blobs/blob-store.js';
import { isoTime, type Clock } from '../shared/clock.js';
import { appError } from '../shared/errors.js';
import type { StateStore } from '../state/state-store.js';
import { FileAccess, notFound } from './access.js';
import { MultipartUploads, type CompletedPart, type MultipartStart } from './multipart.js';
import { requesterOf, StorageRecords, type UploadTicket, type Versioned } from './records.js';
import { unixSeconds, UrlSigner, type QueryInput, type SignedTarget } from './signing.js';
import { bodyChunks, writeDigested, type DigestedBlob } from './streams.js';
import { fileUrl } from './urls.js';
import type { JobLookup } from './worker-outputs.js';

export type { CompletedPart, MultipartStart, PartUploadUrl } from './multipart.js';
export { MAX_PARTS } from './multipart.js';
export type { DigestedBlob } from './streams.js';
export type { QueryInput } from './signing.js';

export interface StorageServiceOptions {
  state: StateStore;
  /** Where finished files live: the `uploads` namespace (blobs/namespaces.ts), so no filename reaches another. */
  blobs: BlobStore;
  /** The queue's jobs, to bind a worker token's uploads to the job it runs (worker-outputs.ts). */
  jobs: JobLookup;
  /** Where multipart parts wait for `complete`. */
  staging: BlobStore;
  /** HMAC key for signed URLs. */
  signingKey: Buffer;
  clock: Clock;
  /** Lifetime of a signed URL (default: 3600). */
  ttlSeconds: number;
  /** Largest single upload in bytes. */
  maxUploadBytes: number;
  /**
   * Verifies volume file URLs (no expiry, checked against live records: `volumes/volume-file-urls.ts`);
   * `verify` answers the blob name, in `volumeBlobs`, of the file's frozen copy that the URL serves.
   */
  volumeUrls?: { claims(query: QueryInput): boolean; verify(filename: string, query: QueryInput): Promise<string> };
  /** The whole blob store, where volume versions' frozen files live (needed with `volumeUrls`). */
  volumeBlobs?: BlobStore;
}

/** What a signed URL serves: an upload (by its filename), or a volume version's frozen file. */
export interface SignedRead {
  volumeFile?: string;
}

/** A request the client makes as given, with no Gantry key (compat.md §8.23: always PUT, no headers). */
export interface SignedRequest {
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
}

/** Expired tickets and abandoned uploads are swept at most this often, riding on requests that add them. */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Files: signed upload and download URLs, upload tickets, ownership and multipart uploads
 * (compat.md §1.8, §5.4, §8.11, §8.21, §8.27). Filenames arrive already checked by the edge
 * (`assertSafeBlobName`); the BlobStores check them again.
 */
export class StorageService {
  private readonly records: StorageRecords;
  private readonly signer: UrlSigner;
  private readonly access: FileAccess;
  private readonly multipart: MultipartUploads;
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  constructor(readonly options: StorageServiceOptions) {
    const { state, blobs, staging, signingKey, clock, ttlSeconds, maxUploadBytes } = options;
    this.records = new StorageRecords(state);
    this.signer = new UrlSigner(signingKey, clock, ttlSeconds);
    this.access = new FileAccess(this.records, blobs, options.jobs);
    const { records, signer, access } = this;
    this.multipart = new MultipartUploads({ records, access, signer, blobs, staging, clock, ttlSeconds, maxUploadBytes });
  }

  /** A URL that takes one successful PUT of `filename` before it expires; retries after a failure are fine. */
  async createUploadUrl(filename: string, principal: Principal, baseUrl: string): Promise<SignedRequest> {
    await this.sweepOccasionally();
    const requester = requesterOf(principal);
    await this.access.assertMayWrite(filename, requester);
    const fields = this.signer.sign(uploadTarget(filename));
    await this.records.createTicket(fields.nonce, {
      filename,
      expires_at: fields.expires,
      used_at: null,
      requested_by: requester,
      created_at: this.now(),
    });
    return { url: fileUrl(baseUrl, filename, 'upload', fields), method: 'PUT', headers: {} };
  }

  /** Stores the body of a PUT to an upload URL; the ticket is marked used only once the write resolved. */
  async acceptUpload(filename: string, query: QueryInput, body: Readable): Promise<DigestedBlob> {
    const { nonce } = this.signer.verify(uploadTarget(filename), query);
    const ticket = await this.usableTicket(nonce, filename);
    const requester = ticket.value.requested_by;
    await this.access.assertMayWrite(filename, requester);
    const file = await writeDigested(this.options.blobs, filename, bodyChunks(body), this.options.maxUploadBytes);
    await this.access.recordWrite(filename, requester, file, this.now());
    // Losing this compare-and-set means a concurrent PUT through the same URL marked it first. Both writes
    // completed (one of them is the file now), so both are answered as successes.
    await this.records.markTicketUsed(nonce, ticket, this.now());
    return file;
  }

  /** A GET URL for `filename`, reusable until it expires. `principal` (if any) must be allowed to read it. */
  async createDownloadUrl(filename: string, baseUrl: string, principal?: Principal): Promise<string> {
    await this.access.assertMayRead(filename, principal && requesterOf(principal));
    if (!(await this.options.blobs.stat(filename))) throw notFound(filename);
    return fileUrl(baseUrl, filename, 'download', this.signer.sign(downloadTarget(filename)));
  }

  /** Throws unless `query` carries a valid, unexpired download signature for `filename`. */
  verifyDownload(filename: string, query: QueryInput): void {
    this.signer.verify(downloadTarget(filename), query);
  }

  /**
   * Like `verifyDownload`, also accepting a volume file URL whose volume version and deployment still
   * exist; what to serve: the upload itself, or (a volume file URL) the file's frozen copy.
   */
  async verifySignedRead(filename: string, query: QueryInput): Promise<SignedRead> {
    const { volumeUrls } = this.options;
    if (volumeUrls?.claims(query)) return { volumeFile: await volumeUrls.verify(filename, query) };
    this.verifyDownload(filename, query);
    return {};
  }

  /** The bytes of a volume version's frozen file, named by `verifySignedRead`. */
  async openVolumeFile(name: string): Promise<{ info: BlobInfo; stream: Readable }> {
    const found = await this.volumeBlobs().read(name);
    if (!found) throw notFound(name);
    return found;
  }

  /** Like `openVolumeFile`, for a HEAD. */
  async statVolumeFile(name: string): Promise<BlobInfo> {
    const info = await this.volumeBlobs().stat(name);
    if (!info) throw notFound(name);
    return info;
  }

  private volumeBlobs(): BlobStore {
    if (!this.options.volumeBlobs) throw new Error('volume file URLs need StorageServiceOptions.volumeBlobs');
    return this.options.volumeBlobs;
  }

  /** The file's bytes. Without `principal` the caller has verified a signature; with one, it is checked. */
  async open(filename: string, principal?: Principal): Promise<{ info: BlobInfo; stream: Readable }> {
    await this.access.assertMayRead(filename, principal && requesterOf(principal));
    const found = await this.options.blobs.read(filename);
    if (!found) throw notFound(filename);
    return found;
  }

  /** Like `open`, for a HEAD: the file's size and time without opening it. */
  async stat(filename: string, principal?: Principal): Promise<BlobInfo> {
    await this.access.assertMayRead(filename, principal && requesterOf(principal));
    const info = await this.options.blobs.stat(filename);
    if (!info) throw notFound(filename);
    return info;
  }

  async initMultipart(filename: string, partsCount: number, principal: Principal, baseUrl: string): Promise<MultipartStart> {
    await this.sweepOccasionally();
    return this.multipart.init(filename, partsCount, requesterOf(principal), baseUrl);
  }

  /** Stores one part from a signed part URL; a part may be sent again (the last one counts). */
  acceptPart(uploadId: string, partNumber: number, query: QueryInput, body: Readable): Promise<DigestedBlob> {
    return this.multipart.acceptPart(uploadId, partNumber, query, body);
  }

  completeMultipart(filename: string, uploadId: string, parts: CompletedPart[], principal: Principal): Promise<DigestedBlob> {
    return this.multipart.complete(filename, uploadId, parts, requesterOf(principal));
  }

  abortMultipart(filename: string, uploadId: string, principal: Principal): Promise<void> {
    return this.multipart.abort(filename, uploadId, requesterOf(principal));
  }

  /** Deletes expired upload tickets and abandoned multipart uploads (with their parts). */
  async sweepExpired(): Promise<{ tickets: number; uploads: number }> {
    const now = unixSeconds(this.options.clock);
    const expired = (await this.records.listTickets()).filter(({ ticket }) => ticket.expires_at < now);
    for (const { nonce } of expired) await this.records.deleteTicket(nonce);
    return { tickets: expired.length, uploads: await this.multipart.sweep(now) };
  }

  private async usableTicket(nonce: string, filename: string): Promise<Versioned<UploadTicket>> {
    const ticket = await this.records.getTicket(nonce);
    if (!ticket || ticket.value.filename !== filename) {
      throw appError('GANTRY_ERR_STORAGE_BAD_SIGNATURE', 'this upload URL is not known to the server; request a new one');
    }
    if (ticket.value.used_at !== null) {
      throw appError('GANTRY_ERR_STORAGE_URL_USED', `this upload URL was already used at ${ticket.value.used_at}; request a new one`);
    }
    return ticket;
  }

  /**
   * Sweeping is housekeeping riding on a request: a failure is left for the next interval rather than
   * failing the request that happened to trigger it.
   */
  private async sweepOccasionally(): Promise<void> {
    const now = this.options.clock.now();
    if (now - this.lastSweepMs < SWEEP_INTERVAL_MS) return;
    this.lastSweepMs = now;
    await this.sweepExpired().catch(() => undefined);
  }

  private now(): string {
    return isoTime(this.options.clock.now());
  }
}

function uploadTarget(filename: string): SignedTarget {
  return { method: 'PUT', purpose: 'upload', resource: filename };
}

function downloadTarget(filename: string): SignedTarget {
  return { method: 'GET', purpose: 'download', resource: filename };
}

import type { Readable } from 'node:stream';
import type { BlobStore } from '../blobs/blob-store.js';
import { isoTime, type Clock } from '../shared/clock.js';
import { appError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { FileAccess } from './access.js';
import type { MultipartRecord, PartRecord, Requester, StorageRecords } from './records.js';
import { unixSeconds, type QueryInput, type SignedTarget, type UrlSigner } from './signing.js';
import { bodyChunks, concatenated, writeDigested, type DigestedBlob } from './streams.js';
import { partUrl } from './urls.js';

/**
 * Multipart uploads (compat.md §1.8), for files of 100 MiB and more: `init` hands out one signed PUT URL
 * per part; each part lands in the staging store as `<upload_id>/<part_number>` and answers its ETag;
 * `complete` checks the client's list of ETags against what arrived and streams the parts, in order, into
 * the file; `abort` throws the parts away. An upload nobody completes is swept once it expires.
 */

/** The most parts one upload may have (S3's limit, which the vendor uploader stays under). */
export const MAX_PARTS = 10_000;

/** How many part problems one error message lists before it says "and N more". */
const MAX_REPORTED_PROBLEMS = 10;

export interface PartUploadUrl {
  part_number: number;
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
}

export interface MultipartStart {
  upload_id: string;
  part_upload_urls: PartUploadUrl[];
}

export interface CompletedPart {
  part_number: number;
  etag: string;
}

export interface MultipartDeps {
  records: StorageRecords;
  access: FileAccess;
  signer: UrlSigner;
  blobs: BlobStore;
  staging: BlobStore;
  clock: Clock;
  ttlSeconds: number;
  maxUploadBytes: number;
}

export class MultipartUploads {
  constructor(private readonly deps: MultipartDeps) {}

  async init(filename: string, partsCount: number, requester: Requester, baseUrl: string): Promise<MultipartStart> {
    await this.deps.access.assertMayWrite(filename, requester);
    const uploadId = newId();
    // Part URLs live one TTL; the upload one more, so the last parts can still be completed.
    await this.deps.records.createUpload(uploadId, {
      filename,
      parts_count: partsCount,
      requested_by: requester,
      created_at: isoTime(this.deps.clock.now()),
      expires_at: unixSeconds(this.deps.clock) + 2 * this.deps.ttlSeconds,
    });
    return { upload_id: uploadId, part_upload_urls: this.partUrls(uploadId, partsCount, baseUrl) };
  }

  async acceptPart(uploadId: string, partNumber: number, query: QueryInput, body: Readable): Promise<DigestedBlob> {
    this.deps.signer.verify(partTarget(uploadId, partNumber), query);
    await this.load(uploadId);
    const part = await writeDigested(this.deps.staging, stagedName(uploadId, partNumber), bodyChunks(body), this.deps.maxUploadBytes);
    await this.deps.records.putPart(uploadId, partNumber, { etag: part.etag, size: part.info.size });
    await this.discardIfGone(uploadId, partNumber);
    return part;
  }

  async complete(filename: string, uploadId: string, parts: CompletedPart[], requester: Requester): Promise<DigestedBlob> {
    const upload = await this.loadFor(filename, uploadId, requester);
    const staged = await this.deps.records.listParts(uploadId);
    assertPartsMatch(upload.parts_count, parts, staged);
    this.assertTotalWithinLimit(staged);
    await this.deps.access.assertMayWrite(filename, upload.requested_by);
    const names = Array.from({ length: upload.parts_count }, (_, i) => stagedName(uploadId, i + 1));
    const file = await writeDigested(this.deps.blobs, filename, concatenated(this.deps.staging, names), this.deps.maxUploadBytes);
    await this.deps.access.recordWrite(filename, upload.requested_by, file, isoTime(this.deps.clock.now()));
    await this.discard(uploadId);
    return file;
  }

  async abort(filename: string, uploadId: string, requester: Requester): Promise<void> {
    await this.loadFor(filename, uploadId, requester);
    await this.discard(uploadId);
  }

  /** Discards every upload that expired before `nowSeconds`; resolves with how many. */
  async sweep(nowSeconds: number): Promise<number> {
    const expired = (await this.deps.records.listUploads()).filter(([, upload]) => upload.expires_at < nowSeconds);
    for (const [uploadId] of expired) await this.discard(uploadId);
    return expired.length;
  }

  private partUrls(uploadId: string, partsCount: number, baseUrl: string): PartUploadUrl[] {
    return Array.from({ length: partsCount }, (_, i) => {
      const fields = this.deps.signer.sign(partTarget(uploadId, i + 1));
      return { part_number: i + 1, url: partUrl(baseUrl, uploadId, i + 1, fields), method: 'PUT', headers: {} };
    });
  }

  private async load(uploadId: string): Promise<MultipartRecord> {
    const upload = await this.deps.records.getUpload(uploadId);
    if (upload && upload.expires_at >= unixSeconds(this.deps.clock)) return upload;
    throw appError('GANTRY_ERR_STORAGE_UPLOAD_NOT_FOUND', `no multipart upload "${uploadId}" is in progress`, {
      param: 'upload_id',
    });
  }

  /** The upload, if it is for `filename` and `requester` may finish it (a worker: its deployment's only). */
  private async loadFor(filename: string, uploadId: string, requester: Requester): Promise<MultipartRecord> {
    const upload = await this.load(uploadId);
    const sameDeployment = requester.kind === 'user' || upload.requested_by.deployment_id === requester.deployment_id;
    if (upload.filename === filename && sameDeployment) return upload;
    throw appError('GANTRY_ERR_STORAGE_UPLOAD_NOT_FOUND', `no multipart upload "${uploadId}" for file "${filename}"`, {
      param: 'upload_id',
    });
  }

  private assertTotalWithinLimit(staged: Map<number, PartRecord>): void {
    const total = [...staged.values()].reduce((sum, part) => sum + part.size, 0);
    if (total > this.deps.maxUploadBytes) {
      throw appError(
        'GANTRY_ERR_STORAGE_FILE_TOO_LARGE',
        `the parts add up to ${total} bytes; the limit for one file is ${this.deps.maxUploadBytes} bytes`,
      );
    }
  }

  /**
   * The record goes first: a part arriving concurrently either sees it gone and removes itself
   * (`discardIfGone`), or was stored before and is removed here.
   */
  private async discard(uploadId: string): Promise<void> {
    await this.deps.records.deleteUpload(uploadId);
    for (const part of await this.deps.staging.list(`${uploadId}/`)) await this.deps.staging.delete(part.name);
    await this.deps.records.deleteParts(uploadId);
  }

  private async discardIfGone(uploadId: string, partNumber: number): Promise<void> {
    if (await this.deps.records.getUpload(uploadId)) return;
    await this.deps.staging.delete(stagedName(uploadId, partNumber));
    await this.deps.records.deleteParts(uploadId);
    throw appError('GANTRY_ERR_STORAGE_UPLOAD_NOT_FOUND', `multipart upload "${uploadId}" ended while part ${partNumber} arrived`);
  }
}

function partTarget(uploadId: string, partNumber: number): SignedTarget {
  return { method: 'PUT', purpose: 'part', resource: `${uploadId}/${partNumber}` };
}

function stagedName(uploadId: string, partNumber: number): string {
  return `${uploadId}/${partNumber}`;
}

/** Every part 1..count listed once, uploaded, and with the ETag the upload answered (quotes ignored). */
function assertPartsMatch(count: number, parts: CompletedPart[], staged: Map<number, PartRecord>): void {
  const listed = new Set<number>();
  const problems = parts.flatMap((part, i) => {
    const problem = partProblem(part, count, listed, staged);
    listed.add(part.part_number);
    return problem ? [{ param: `parts.${i}`, message: `parts.${i}: ${problem}` }] : [];
  });
  for (let n = 1; n <= count; n++) {
    if (!listed.has(n)) problems.push({ param: 'parts', message: `parts: part ${n} of ${count} is not listed` });
  }
  if (problems.length > 0) throw partsInvalid(problems);
}

function partProblem(part: CompletedPart, count: number, listed: Set<number>, staged: Map<number, PartRecord>): string | undefined {
  const n = part.part_number;
  if (n < 1 || n > count) return `part_number ${n} is outside 1..${count}`;
  if (listed.has(n)) return `part ${n} is listed twice`;
  const stored = staged.get(n);
  if (!stored) return `part ${n} was never uploaded`;
  if (unquote(part.etag) !== unquote(stored.etag)) return `part ${n}: etag does not match the uploaded part`;
  return undefined;
}

function partsInvalid(problems: Array<{ param: string; message: string }>): Error {
  const shown = problems.slice(0, MAX_REPORTED_PROBLEMS).map((p) => p.message);
  const more = problems.length - shown.length;
  const message = shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
  return appError('GANTRY_ERR_STORAGE_PARTS_INVALID', message, { param: problems[0]!.param });
}

/** S3-style clients keep or strip the quotes of an ETag header; compare the hex alone. */
function unquote(etag: string): string {
  return etag.trim().replace(/^"(.*)"$/, '$1').toLowerCase();
}

import type { HttpClient } from './http.js';
import type { SignedUrl } from './types.js';

export interface MultipartInit {
  upload_id: string;
  part_upload_urls: Array<SignedUrl & { part_number: number }>;
}

/** File uploads (compat.md §1.8, §5.4): a signed URL per file, or multipart for large ones. */
export class StorageApi {
  constructor(private readonly http: HttpClient) {}

  uploadRequest(filename: string): Promise<{ upload_url: SignedUrl }> {
    return this.http.json('POST', '/storage/upload-request', { filename });
  }

  multipartInit(filename: string, partsCount: number): Promise<MultipartInit> {
    return this.http.json('POST', '/storage/multipart/init', { filename, parts_count: partsCount });
  }

  multipartComplete(filename: string, uploadId: string, parts: Array<{ part_number: number; etag: string }>): Promise<unknown> {
    return this.http.json('POST', '/storage/multipart/complete', { filename, upload_id: uploadId, parts });
  }

  multipartAbort(filename: string, uploadId: string): Promise<unknown> {
    return this.http.json('POST', '/storage/multipart/abort', { filename, upload_id: uploadId });
  }

  /** Sends bytes to a signed URL with its method and headers, without the API key. */
  async put(target: SignedUrl, body: Buffer): Promise<{ etag: string | undefined }> {
    const res = await this.http.raw(target.method || 'PUT', target.url, target.headers ?? {}, body);
    if (res.status < 200 || res.status >= 300) throw new Error(`upload to storage answered HTTP ${res.status}`);
    const etag = res.headers.etag;
    return { etag: typeof etag === 'string' ? etag.replace(/"/g, '') : undefined };
  }
}

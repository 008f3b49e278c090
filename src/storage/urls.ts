import { signedQueryString, type SignedFields, type SignedPurpose } from './signing.js';

/**
 * The URLs storage hands out. Files are served where Sprocket computes its output URLs,
 * `{API_BASE}/v1/storage/<filename>` (compat.md §3.4 step 5), so the same path takes signed PUTs and GETs.
 */
export const STORAGE_PATH = '/v1/storage';

/** `baseUrl` has no trailing slash (`https://gantry.example.com:8443`). */
export function fileUrl(baseUrl: string, filename: string, purpose: SignedPurpose, fields: SignedFields): string {
  return `${baseUrl}${STORAGE_PATH}/${encodeBlobPath(filename)}?${signedQueryString(purpose, fields)}`;
}

export function partUrl(baseUrl: string, uploadId: string, partNumber: number, fields: SignedFields): string {
  const path = `${STORAGE_PATH}/multipart/${encodeURIComponent(uploadId)}/${partNumber}`;
  return `${baseUrl}${path}?${signedQueryString('part', fields)}`;
}

/** Percent-encodes each segment and keeps the `/` between them, so the router sees the same segments. */
export function encodeBlobPath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../shared/clock.js';
import { appError } from '../shared/errors.js';
import { randomToken } from '../shared/ids.js';

/**
 * Signed URLs: the signature is the credential (compat.md §8.21), so an unmodified worker or uploader can
 * PUT or GET with no Gantry key. A URL grants one method, for one purpose, on one resource, until its
 * expiry; the HMAC-SHA256 covers all of them plus a random nonce, which also names the upload ticket.
 */

/** The query parameters of a signed URL. The purpose is informational: the verifier supplies its own. */
export const SIGNED_QUERY = {
  purpose: 'X-Gantry-Purpose',
  expires: 'X-Gantry-Expires',
  nonce: 'X-Gantry-Nonce',
  signature: 'X-Gantry-Signature',
} as const;

export type SignedPurpose = 'upload' | 'part' | 'download';

/** What a URL grants. `resource` is a filename, or `<upload_id>/<part_number>` for a part. */
export interface SignedTarget {
  method: 'GET' | 'PUT';
  purpose: SignedPurpose;
  resource: string;
}

export interface SignedFields {
  /** Unix seconds; the URL is valid up to and including this second. */
  expires: number;
  nonce: string;
  signature: string;
}

/** The query string of a request, as Fastify parses it (a repeated parameter arrives as an array). */
export type QueryInput = Record<string, unknown>;

const SIGNATURE_BYTES = 32;
const NONCE_BYTES = 18;

export class UrlSigner {
  constructor(
    private readonly key: Buffer,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  sign(target: SignedTarget): SignedFields {
    const expires = unixSeconds(this.clock) + this.ttlSeconds;
    const nonce = randomToken(NONCE_BYTES);
    return { expires, nonce, signature: this.mac(target, expires, nonce).toString('base64url') };
  }

  /**
   * Checks the signature first and the expiry second, so a tampered expiry reads as a bad signature and
   * only a genuine URL can be reported as expired.
   */
  verify(target: SignedTarget, query: QueryInput): SignedFields {
    const fields = signedFieldsOf(query);
    const given = Buffer.from(fields.signature, 'base64url');
    const expected = this.mac(target, fields.expires, fields.nonce);
    if (given.length !== SIGNATURE_BYTES || !timingSafeEqual(given, expected)) {
      throw appError('GANTRY_ERR_STORAGE_BAD_SIGNATURE', `the signature does not match this ${describe(target)}`);
    }
    if (unixSeconds(this.clock) > fields.expires) {
      throw appError('GANTRY_ERR_STORAGE_URL_EXPIRED', `this signed ${describe(target)} URL has expired; request a new one`);
    }
    return fields;
  }

  private mac(target: SignedTarget, expires: number, nonce: string): Buffer {
    // A JSON array is an unambiguous encoding whatever characters the resource holds.
    const canonical = JSON.stringify(['gantry-url-v1', target.method, target.purpose, target.resource, expires, nonce]);
    return createHmac('sha256', this.key).update(canonical).digest();
  }
}

/** The query string that carries `fields` (parameter order is fixed, for readable URLs). */
export function signedQueryString(purpose: SignedPurpose, fields: SignedFields): string {
  return new URLSearchParams([
    [SIGNED_QUERY.purpose, purpose],
    [SIGNED_QUERY.expires, String(fields.expires)],
    [SIGNED_QUERY.nonce, fields.nonce],
    [SIGNED_QUERY.signature, fields.signature],
  ]).toString();
}

/** True when the request carries a signature at all (GET accepts either a signature or a key). */
export function hasSignature(query: QueryInput): boolean {
  return query[SIGNED_QUERY.signature] !== undefined;
}

function signedFieldsOf(query: QueryInput): SignedFields {
  const expires = single(query, SIGNED_QUERY.expires);
  const nonce = single(query, SIGNED_QUERY.nonce);
  const signature = single(query, SIGNED_QUERY.signature);
  if (!/^\d{1,12}$/.test(expires)) throw badQuery(`${SIGNED_QUERY.expires} must be unix seconds`);
  return { expires: Number(expires), nonce, signature };
}

function single(query: QueryInput, name: string): string {
  const value = query[name];
  if (typeof value === 'string' && value !== '') return value;
  throw badQuery(value === undefined ? `${name} is missing` : `${name} must be given exactly once`);
}

function badQuery(what: string): Error {
  return appError('GANTRY_ERR_STORAGE_BAD_SIGNATURE', `not a valid signed URL: ${what}`, { param: 'query' });
}

function describe(target: SignedTarget): string {
  return target.purpose === 'part' ? 'part upload' : target.purpose;
}

export function unixSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

import { createHash, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/** Time-ordered unique ids (UUIDv7), used for request ids, uploads and records. */
export function newId(): string {
  return uuidv7();
}

/** A prefixed id such as `sec_01…`, for records whose kind should be visible in the id. */
export function prefixedId(prefix: string): string {
  return `${prefix}_${uuidv7().replaceAll('-', '')}`;
}

/** `bytes` of randomness in URL-safe base64, for keys, tokens and nonces. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256Hex(input: string | Buffer): string {
  return createHash('sha256').update(input).digest('hex');
}

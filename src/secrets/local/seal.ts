import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM sealing of one secret value. The format is versioned (`v`, `alg`) so the key or algorithm
 * can change later without guessing what an old record holds. All binary fields are base64.
 */
export interface SealedValue {
  v: 1;
  alg: 'A256GCM';
  iv: string;
  ct: string;
  tag: string;
}

export const KEY_BYTES = 32;
/** GCM's standard nonce size; random 96-bit nonces are safe for far more writes than a secret store sees. */
const IV_BYTES = 12;
/** Pinned on decrypt: without it Node accepts a truncated tag, which weakens the authentication. */
const TAG_BYTES = 16;

/** Why a sealed value could not be opened (wrong key, altered record, unknown format). */
export class UnsealError extends Error {
  override readonly name = 'UnsealError';
}

export function assertEncryptionKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) {
    throw new TypeError(`the secrets encryption key must be ${KEY_BYTES} bytes, got ${key.length}`);
  }
}

/**
 * Encrypts `plaintext` under a fresh random IV. `aad` is authenticated but not stored: the caller passes
 * the record's id, so a ciphertext copied into another record fails to open there.
 */
export function seal(key: Buffer, plaintext: string, aad: string): SealedValue {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { v: 1, alg: 'A256GCM', iv: b64(iv), ct: b64(ct), tag: b64(cipher.getAuthTag()) };
}

/** Decrypts and authenticates; throws `UnsealError` instead of ever returning garbage. */
export function unseal(key: Buffer, sealed: SealedValue, aad: string): string {
  assertFormat(sealed);
  const iv = Buffer.from(sealed.iv, 'base64');
  const tag = Buffer.from(sealed.tag, 'base64');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new UnsealError('malformed IV or tag');
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new UnsealError('authentication failed (wrong encryption key, or the record was altered)', { cause: err });
  }
}

function assertFormat(sealed: SealedValue | undefined): void {
  if (sealed?.v !== 1 || sealed.alg !== 'A256GCM') {
    throw new UnsealError(`unsupported sealed format v=${String(sealed?.v)} alg=${String(sealed?.alg)}`);
  }
}

function b64(buf: Buffer): string {
  return buf.toString('base64');
}

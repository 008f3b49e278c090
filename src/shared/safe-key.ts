/**
 * Strings ↔ keys and paths every outside store accepts as they are. Recent Consul refuses KV keys with
 * characters outside `A-Za-z0-9,-_./`, keys containing `../` and keys ending in file extensions such as
 * `.json` (consul `agent/kvs_endpoint.go` `validateKVKey`); Vault cleans `..` and `//` out of paths and
 * decodes `%XX`; Gantry's keys carry percent-encoded names and secret names hold any character.
 *
 * Every character outside `A-Za-z0-9-_/` (the dot included) becomes `,` and two upper-case hex digits per
 * UTF-8 byte. Each character maps to a fixed code word and no code word is a prefix of another, so
 * `encode(a)` starts with `encode(b)` exactly when `a` starts with `b`: prefix listing stays a prefix
 * listing. Byte order is not kept, so listings are sorted after decoding.
 */

const PLAIN = /[A-Za-z0-9\-_/]/;
const PLAIN_SEGMENT = /[A-Za-z0-9\-_]/;

/** Like `encodeSafeKey`, but `/` is escaped too: the result is one path segment. */
export function encodeSafeSegment(text: string): string {
  let out = '';
  for (const char of text) out += PLAIN_SEGMENT.test(char) ? char : escapeChar(char);
  return out;
}

export function encodeSafeKey(key: string): string {
  let out = '';
  for (const char of key) {
    out += PLAIN.test(char) ? char : escapeChar(char);
  }
  return out;
}

function escapeChar(char: string): string {
  return [...Buffer.from(char, 'utf8')].map((byte) => `,${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

export function decodeSafeKey(encoded: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    if (encoded[i] === ',') {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(encoded.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

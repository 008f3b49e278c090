/**
 * What may leave an outbound client in an error: text and urls without credentials. Used by the shared
 * transport (transport.ts) for every error it raises.
 */

const CENSOR = '<redacted>';

/** Query parameters that carry credentials (`?token=`, signed URLs, AppRole secret ids). */
const CREDENTIAL_PARAM = /^(?:token|access_token|key|api_key|secret|secret_id|password|signature|sig|x-gantry-signature|x-[a-z]+-token)$/i;

/** Header names whose values are credentials. */
const CREDENTIAL_HEADER = /token|authorization|secret|password|api-key|cookie/i;

/** `scheme://user:pass@` (or `user@`) anywhere in a text. */
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi;

/** Shorter strings are not blanked: they would match too much ordinary text to be worth it. */
const MIN_SECRET_LENGTH = 4;

/** `url` (absolute or a path) without userinfo and with credential query values blanked. */
export function cleanUrl(url: string): string {
  const [beforeQuery = '', query] = splitOnce(url.replace(USERINFO, `$1${CENSOR}@`), '?');
  if (query === undefined) return beforeQuery;
  const params = query.split('&').map((pair) => {
    const [name = ''] = pair.split('=', 1);
    return CREDENTIAL_PARAM.test(decodeSafe(name)) ? `${name}=${CENSOR}` : pair;
  });
  return `${beforeQuery}?${params.join('&')}`;
}

/** `text` with every url cleaned of userinfo and every one of `secrets` blanked. */
export function cleanText(text: string, secrets: readonly string[]): string {
  let cleaned = text.replace(USERINFO, `$1${CENSOR}@`);
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH) cleaned = cleaned.split(secret).join(CENSOR);
  }
  return cleaned;
}

/** The values of the credential headers among `headers` (any header object axios or node-vault uses). */
export function credentialValues(headers: unknown): string[] {
  if (!headers || typeof headers !== 'object') return [];
  return Object.entries(headers as Record<string, unknown>)
    .filter(([name, value]) => CREDENTIAL_HEADER.test(name) && typeof value === 'string')
    .map(([, value]) => value as string);
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

import { describe, expect, it } from 'vitest';
import { cleanText, cleanUrl, credentialValues } from '../../../src/clients/clean.js';

describe('cleanUrl', () => {
  it.each([
    ['userinfo', 'https://gantry:hunter22@consul:8501/v1/kv/x', 'https://<redacted>@consul:8501/v1/kv/x'],
    ['a token query', '/v1/kv/x?token=abcd1234&dc=dc1', '/v1/kv/x?token=<redacted>&dc=dc1'],
    ['a signed URL', '/v1/storage/f?X-Gantry-Expires=1&X-Gantry-Signature=sig', '/v1/storage/f?X-Gantry-Expires=1&X-Gantry-Signature=<redacted>'],
    ['a secret_id', '/v1/auth/approle/login?secret_id=s3cr3t', '/v1/auth/approle/login?secret_id=<redacted>'],
    ['nothing to clean', '/v1/jobs?prefix=gantry-', '/v1/jobs?prefix=gantry-'],
  ])('blanks %s', (_name, url, cleaned) => {
    expect(cleanUrl(url)).toBe(cleaned);
  });
});

describe('cleanText', () => {
  it('blanks every known secret and every userinfo, and leaves short strings alone', () => {
    const text = 'GET http://u:p4ss@h/x failed with X-Consul-Token: tok-123456 (tok-123456) ab';
    expect(cleanText(text, ['tok-123456', 'ab'])).toBe('GET http://<redacted>@h/x failed with X-Consul-Token: <redacted> (<redacted>) ab');
  });
});

describe('credentialValues', () => {
  it('picks the values of credential headers only', () => {
    expect(credentialValues({ 'X-Vault-Token': 'v', Authorization: 'Bearer b', 'Content-Type': 'application/json' })).toEqual(['v', 'Bearer b']);
    expect(credentialValues(undefined)).toEqual([]);
  });
});

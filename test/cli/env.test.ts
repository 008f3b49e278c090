import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { localCa, trustedCa } from '../../cli/src/api/local-ca.js';
import { apiBase, readEnv } from '../../cli/src/env.js';

describe('readEnv', () => {
  it('takes the base URL from flags, then TOGETHER_BASE_URL, then GANTRY_URL, then the local default', () => {
    expect(readEnv({}).baseUrl).toBe('https://127.0.0.1:8443/v1');
    expect(readEnv({ GANTRY_URL: 'https://g.example:8443/v1/' }).baseUrl).toBe('https://g.example:8443/v1');
    expect(readEnv({ GANTRY_URL: 'https://g', TOGETHER_BASE_URL: 'https://t/v1' }).baseUrl).toBe('https://t/v1');
    expect(readEnv({ TOGETHER_BASE_URL: 'https://t/v1' }, { baseUrl: 'https://f/v1' }).baseUrl).toBe('https://f/v1');
  });

  it.each([
    ['y', true], ['1', true], ['true', true], ['yes', true], ['0', false], ['no', false], ['', false],
  ])('reads TOGETHER_DEBUG=%s as %s', (value, debug) => {
    expect(readEnv({ TOGETHER_DEBUG: value }).debug).toBe(debug);
  });

  it('reads the uploader knobs with their defaults', () => {
    expect(readEnv({})).toMatchObject({ uploadConcurrency: 15, multipartChunkBytes: 20 * 2 ** 20, multipartThresholdBytes: 100 * 2 ** 20 });
    expect(readEnv({ TOGETHER_UPLOAD_CONCURRENCY: '4', TOGETHER_MULTIPART_THRESHOLD_MB: 'x' })).toMatchObject({ uploadConcurrency: 4, multipartThresholdBytes: 100 * 2 ** 20 });
  });
});

describe('apiBase', () => {
  it('adds /v1 to a bare origin, as the newest vendor clients take it', () => {
    expect(apiBase('https://127.0.0.1:8443')).toBe('https://127.0.0.1:8443/v1');
    expect(apiBase('https://127.0.0.1:8443/')).toBe('https://127.0.0.1:8443/v1');
    expect(apiBase('https://proxy.example/gantry/v1')).toBe('https://proxy.example/gantry/v1');
  });
});

describe('trustedCa', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'jig-ca-'));
  mkdirSync(path.join(root, 'project', 'sub'), { recursive: true });
  mkdirSync(path.join(root, '.gantry', 'tls'), { recursive: true });
  writeFileSync(path.join(root, '.gantry', 'tls', 'ca.pem'), 'LOCAL CA');
  writeFileSync(path.join(root, 'bundle.pem'), 'BUNDLE');

  it("finds the local server's CA in .gantry from the working directory upwards", () => {
    expect(localCa('https://127.0.0.1:8443/v1', undefined, path.join(root, 'project', 'sub'))).toBe('LOCAL CA');
    expect(localCa('https://localhost:8443/v1', root, '/')).toBeUndefined();
    expect(localCa('https://localhost:8443/v1', path.join(root, '.gantry'), '/')).toBe('LOCAL CA');
  });

  it('trusts no local CA for a remote URL, and SSL_CERT_FILE when given', () => {
    expect(trustedCa('https://gantry.example.com/v1', undefined, undefined, path.join(root, 'project'))).toBeUndefined();
    expect(trustedCa('https://gantry.example.com/v1', undefined, path.join(root, 'bundle.pem'), path.join(root, 'project'))).toBe('BUNDLE');
  });
});

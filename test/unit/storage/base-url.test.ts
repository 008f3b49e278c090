import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBaseUrlOf, type BaseUrlSettings } from '../../../src/storage/base-url.js';
import { ensureLocalTls } from '../../../src/tls/local-ca.js';

describe('createBaseUrlOf', () => {
  let dir: string;
  let certificate: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gantry-base-url-'));
    certificate = (await ensureLocalTls({ dir, hostnames: ['gantry.internal', '10.0.0.7'] })).cert;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const settings = (over: Partial<BaseUrlSettings> = {}): BaseUrlSettings => ({
    configured: undefined,
    listenUrl: () => 'https://localhost:8443',
    listenHost: '0.0.0.0',
    certificate,
    ...over,
  });

  it('always answers the configured public URL', () => {
    const baseOf = createBaseUrlOf(settings({ configured: 'https://gantry.example.com/' }));
    expect(baseOf('evil.example')).toBe('https://gantry.example.com');
  });

  it.each([
    ['a certificate name', 'gantry.internal:8443', 'https://gantry.internal:8443'],
    ['a certificate name in another case', 'GANTRY.Internal:8443', 'https://gantry.internal:8443'],
    ['a certificate address', '10.0.0.7:8443', 'https://10.0.0.7:8443'],
    ['loopback IPv6', '[::1]:8443', 'https://[::1]:8443'],
  ])('keeps %s at the listen port', (_name, host, base) => {
    expect(createBaseUrlOf(settings())(host)).toBe(base);
  });

  it.each([
    ['markup', 'a"b<c'],
    ['markup with a port', 'a"b<c:8443'],
    ['an unknown name', 'evil.example:8443'],
    ['a known name at another port', 'gantry.internal:9999'],
    ['a known name without the port', 'gantry.internal'],
    ['userinfo', 'user@gantry.internal:8443'],
    ['a path', 'gantry.internal:8443/x'],
    ['nothing', undefined],
    ['an empty header', ''],
  ])('falls back to the listen URL for %s', (_name, host) => {
    expect(createBaseUrlOf(settings())(host)).toBe('https://localhost:8443');
  });

  it('takes the listen host itself, and loopback names only when it listens on loopback or everywhere', () => {
    const onLan = createBaseUrlOf(settings({ listenHost: '192.168.1.5', listenUrl: () => 'https://192.168.1.5:8443', certificate: undefined }));
    expect(onLan('192.168.1.5:8443')).toBe('https://192.168.1.5:8443');
    expect(onLan('localhost:8443')).toBe('https://192.168.1.5:8443');
    const onLoopback = createBaseUrlOf(settings({ listenHost: '127.0.0.1', listenUrl: () => 'http://127.0.0.1:80', certificate: undefined }));
    expect(onLoopback('localhost')).toBe('http://localhost');
  });
});

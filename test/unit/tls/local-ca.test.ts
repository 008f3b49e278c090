import { execFile, spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/shared/clock.js';
import { describeTls, ensureLocalTls, type LocalTls } from '../../../src/tls/local-ca.js';

const DAY_MS = 86_400_000;
const execFileAsync = promisify(execFile);
const KEY_FILES = ['ca-key.pem', 'server-key.pem'];

/** A clock tests can move; starts at a whole second so certificate times (second precision) compare exactly. */
function movableClock(start = Math.floor(Date.now() / 1000) * 1000): Clock & { ms: number } {
  const clock = { ms: start, now: () => clock.ms };
  return clock;
}

function leaf(tls: LocalTls): X509Certificate {
  return new X509Certificate(tls.cert); // the first certificate of the chain
}

function fingerprints(tls: LocalTls): { ca: string; server: string } {
  return { ca: new X509Certificate(tls.ca).fingerprint256, server: leaf(tls).fingerprint256 };
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

let root: string;
let dir: string;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'gantry-tls-'));
  dir = path.join(root, 'tls');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('ensureLocalTls', () => {
  it('creates an owner-only directory with a CA and a server certificate on first call', async () => {
    const tls = await ensureLocalTls({ dir, hostnames: [] });
    expect(tls).toMatchObject({ createdCa: true, createdCert: true, caCertFile: path.join(dir, 'ca.pem') });
    expect(readdirSync(dir).sort()).toEqual(['ca-key.pem', 'ca.pem', 'server-key.pem', 'server.pem']);
    expect(mode(dir)).toBe(0o700);
    for (const file of KEY_FILES) expect(mode(path.join(dir, file))).toBe(0o600);
    expect(tls.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(tls.cert).toBe(`${readText(tls.certFile)}${tls.ca}`);
    expect(tls.ca).toBe(readText(tls.caCertFile));
  });

  it('issues a server certificate that verifies against the CA and carries every name', async () => {
    const tls = await ensureLocalTls({ dir, hostnames: ['gantry.example', '10.1.2.3', '[fd00::7]'] });
    const ca = new X509Certificate(tls.ca);
    const server = leaf(tls);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkHost('gantry.example')).toBe('gantry.example');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBe('::1');
    expect(server.checkIP('fd00::7')).toBe('fd00::7');
    expect(server.checkHost('other.example')).toBeUndefined();
    expect(server.subjectAltName?.split(', ')).toEqual([
      'DNS:localhost',
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
      'DNS:gantry.example',
      'IP Address:10.1.2.3',
      'IP Address:FD00:0:0:0:0:0:0:7',
    ]);
  });

  it('sets the CA and server extensions, subjects and validity periods', async () => {
    const clock = movableClock();
    const tls = await ensureLocalTls({ dir, hostnames: [], clock });
    const ca = forge.pki.certificateFromPem(tls.ca);
    const server = forge.pki.certificateFromPem(tls.cert);
    expect(ca.getExtension('basicConstraints')).toMatchObject({ cA: true, pathLenConstraint: 0, critical: true });
    expect(ca.getExtension('keyUsage')).toMatchObject({ keyCertSign: true, cRLSign: true, digitalSignature: false });
    expect(new X509Certificate(tls.ca).subject).toMatch(/^CN=Gantry local CA \(.+\)$/m);
    expect(ca.validity.notAfter.getTime()).toBe(clock.ms + 365 * DAY_MS);
    expect(ca.getExtension({ id: '2.5.29.30' } as unknown as string)).toMatchObject({ critical: true });
    expect(server.subject.getField('CN').value).toBe('localhost');
    expect(server.getExtension('extKeyUsage')).toMatchObject({ serverAuth: true });
    expect(server.getExtension('keyUsage')).toMatchObject({ digitalSignature: true, keyEncipherment: true });
    expect(server.validity.notBefore.getTime()).toBe(clock.ms - 5 * 60_000);
    expect(server.validity.notAfter.getTime()).toBe(clock.ms + 90 * DAY_MS);
    const caKeyId = (ca.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier: string }).subjectKeyIdentifier;
    const authorityKeyId = (server.getExtension('authorityKeyIdentifier') as { value: string }).value;
    expect(forge.util.bytesToHex(authorityKeyId)).toContain(caKeyId); // the keyIdentifier inside the extension
    expect(server.getExtension('subjectKeyIdentifier')).toBeDefined();
    expect(server.serialNumber).not.toBe(ca.serialNumber);
  });

  it('reuses the CA and the server certificate on a later call', async () => {
    const first = await ensureLocalTls({ dir, hostnames: ['gantry.example'] });
    const second = await ensureLocalTls({ dir, hostnames: ['gantry.example'] });
    expect(second).toMatchObject({ createdCa: false, createdCert: false });
    expect(fingerprints(second)).toEqual(fingerprints(first));
    expect(second.key).toBe(first.key);
  });

  it('replaces the CA, whose name constraints leave the new names out, when a name is added', async () => {
    const first = await ensureLocalTls({ dir, hostnames: [] });
    const second = await ensureLocalTls({ dir, hostnames: ['gantry.example', '10.0.0.5'] });
    expect(second).toMatchObject({ createdCa: true, createdCert: true });
    expect(fingerprints(second).ca).not.toBe(fingerprints(first).ca);
    expect(leaf(second).checkHost('gantry.example')).toBe('gantry.example');
    expect(leaf(second).checkIP('10.0.0.5')).toBe('10.0.0.5');
    expect(leaf(second).verify(new X509Certificate(second.ca).publicKey)).toBe(true);
    const third = await ensureLocalTls({ dir, hostnames: [] });
    expect(third).toMatchObject({ createdCa: false, createdCert: false }); // extra names are no reason to reissue
  });

  it('reissues the server certificate within 30 days of its expiry, from the same CA', async () => {
    const clock = movableClock();
    const first = await ensureLocalTls({ dir, hostnames: [], clock });
    clock.ms += 59 * DAY_MS;
    expect((await ensureLocalTls({ dir, hostnames: [], clock })).createdCert).toBe(false);
    clock.ms += 2 * DAY_MS;
    const renewed = await ensureLocalTls({ dir, hostnames: [], clock });
    expect(renewed).toMatchObject({ createdCa: false, createdCert: true });
    expect(fingerprints(renewed).ca).toBe(fingerprints(first).ca);
    expect(forge.pki.certificateFromPem(renewed.cert).validity.notAfter.getTime()).toBe(clock.ms + 90 * DAY_MS);
  });

  it('replaces the CA, and with it the server certificate, within 30 days of the CA expiry', async () => {
    const clock = movableClock();
    const first = await ensureLocalTls({ dir, hostnames: [], clock });
    clock.ms = forge.pki.certificateFromPem(first.ca).validity.notAfter.getTime() - 29 * DAY_MS;
    const renewed = await ensureLocalTls({ dir, hostnames: [], clock });
    expect(renewed).toMatchObject({ createdCa: true, createdCert: true });
    expect(fingerprints(renewed).ca).not.toBe(fingerprints(first).ca);
  });

  it('never lets the server certificate outlive its CA', async () => {
    const clock = movableClock();
    const first = await ensureLocalTls({ dir, hostnames: [], clock });
    const caNotAfter = forge.pki.certificateFromPem(first.ca).validity.notAfter.getTime();
    clock.ms = caNotAfter - 60 * DAY_MS;
    rmSync(path.join(dir, 'server.pem'));
    const late = await ensureLocalTls({ dir, hostnames: [], clock });
    expect(late.createdCa).toBe(false);
    expect(forge.pki.certificateFromPem(late.cert).validity.notAfter.getTime()).toBe(caNotAfter);
  });

  it('creates a new CA and server certificate when the CA files are deleted', async () => {
    const first = await ensureLocalTls({ dir, hostnames: [] });
    rmSync(path.join(dir, 'ca.pem'));
    rmSync(path.join(dir, 'ca-key.pem'));
    const second = await ensureLocalTls({ dir, hostnames: [] });
    expect(second).toMatchObject({ createdCa: true, createdCert: true });
    expect(fingerprints(second).ca).not.toBe(fingerprints(first).ca);
    expect(leaf(first).verify(new X509Certificate(second.ca).publicKey)).toBe(false);
    expect(leaf(second).verify(new X509Certificate(second.ca).publicKey)).toBe(true);
  });

  it('creates a new CA when the CA key is corrupt', async () => {
    const first = await ensureLocalTls({ dir, hostnames: [] });
    writeFileSync(path.join(dir, 'ca-key.pem'), 'not a key\n');
    const second = await ensureLocalTls({ dir, hostnames: [] });
    expect(second).toMatchObject({ createdCa: true, createdCert: true });
    expect(fingerprints(second).ca).not.toBe(fingerprints(first).ca);
  });

  it.each([
    { name: 'the certificate is corrupt', damage: () => writeFileSync(path.join(dir, 'server.pem'), 'garbage') },
    { name: 'the certificate is missing', damage: () => rmSync(path.join(dir, 'server.pem')) },
    { name: 'the key is missing', damage: () => rmSync(path.join(dir, 'server-key.pem')) },
    {
      name: 'the key does not match the certificate',
      damage: () => copyFileSync(path.join(dir, 'ca-key.pem'), path.join(dir, 'server-key.pem')),
    },
  ])('reissues the server certificate from the same CA when $name', async ({ damage }) => {
    const first = await ensureLocalTls({ dir, hostnames: [] });
    damage();
    const second = await ensureLocalTls({ dir, hostnames: [] });
    expect(second).toMatchObject({ createdCa: false, createdCert: true });
    expect(fingerprints(second).ca).toBe(fingerprints(first).ca);
    expect(leaf(second).checkPrivateKey(createPrivateKey(second.key))).toBe(true);
  });

  it('reissues the server certificate when it was signed by another CA', async () => {
    await ensureLocalTls({ dir, hostnames: [] });
    const otherDir = path.join(root, 'other');
    const other = await ensureLocalTls({ dir: otherDir, hostnames: [] });
    for (const file of ['ca.pem', 'ca-key.pem']) copyFileSync(path.join(otherDir, file), path.join(dir, file));
    const swapped = await ensureLocalTls({ dir, hostnames: [] });
    expect(swapped).toMatchObject({ createdCa: false, createdCert: true });
    expect(leaf(swapped).verify(new X509Certificate(other.ca).publicKey)).toBe(true);
  });

  it('narrows a loosened key file back to 0600 on reuse and leaves no temporary files', async () => {
    await ensureLocalTls({ dir, hostnames: [] });
    chmodSync(path.join(dir, 'server-key.pem'), 0o644);
    await ensureLocalTls({ dir, hostnames: ['gantry.example'] });
    await ensureLocalTls({ dir, hostnames: ['gantry.example'] });
    for (const file of KEY_FILES) expect(mode(path.join(dir, file))).toBe(0o600);
    expect(readdirSync(dir)).toHaveLength(4);
  });

  it('rejects an invalid name before creating anything', async () => {
    await expect(ensureLocalTls({ dir, hostnames: ['not a host'] })).rejects.toThrow(/"not a host"/);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('describeTls', () => {
  it('reports the CA file, its SHA-256 fingerprint and the server names', async () => {
    const tls = await ensureLocalTls({ dir, hostnames: ['gantry.example', '::ffff:10.0.0.1'] });
    const summary = describeTls(tls);
    expect(summary).toMatchObject({
      caFile: path.join(dir, 'ca.pem'),
      caFingerprint256: new X509Certificate(tls.ca).fingerprint256,
      serverNames: ['localhost', '127.0.0.1', '::1', 'gantry.example', '::ffff:a00:1'],
    });
    expect(summary.caFingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(Date.parse(summary.serverNotAfter)).toBe(Date.parse(leaf(tls).validTo));
  });
});

describe('ensureLocalTls over a real TLS connection', () => {
  /** What Node reports when the chain does not lead to a trusted root. */
  const UNTRUSTED = [
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  ];

  it('lets a Node client that trusts the CA connect, and refuses one that does not', async () => {
    const tls = await ensureLocalTls({ dir, hostnames: [] });
    await withHttpsServer(tls, async (port) => {
      expect(await httpsGet(port, { ca: tls.ca })).toEqual({ status: 200, body: 'ok' });
      expect(await httpsGet(port, { ca: tls.ca, servername: 'localhost' })).toEqual({ status: 200, body: 'ok' });
      expect(UNTRUSTED).toContain(await httpsError(port, {}));
      const wrongName = await httpsError(port, { ca: tls.ca, servername: 'elsewhere.example' });
      expect(wrongName).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    });
  });

  describe.skipIf(!hasPython())('with a Python client (the Sprocket worker)', () => {
    it('verifies the chain with cafile and with SSL_CERT_FILE, under OpenSSL strict checks', async () => {
      const tls = await ensureLocalTls({ dir, hostnames: [] });
      await withHttpsServer(tls, async (port) => {
        const url = `https://127.0.0.1:${port}/`;
        expect(await runPython([url, tls.caCertFile])).toBe('200 ok');
        expect(await runPython([url], { SSL_CERT_FILE: tls.caCertFile })).toBe('200 ok');
      });
    });

    it('fails verification without the CA', async () => {
      const tls = await ensureLocalTls({ dir, hostnames: [] });
      await withHttpsServer(tls, async (port) => {
        expect(await runPython([`https://127.0.0.1:${port}/`], { SSL_CERT_FILE: path.join(root, 'absent.pem') })).toBe(
          'CERTIFICATE_VERIFY_FAILED',
        );
      });
    });
  });
});

async function withHttpsServer(tls: LocalTls, use: (port: number) => Promise<void>): Promise<void> {
  const server = https.createServer({ cert: tls.cert, key: tls.key }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await use((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function httpsGet(port: number, options: https.RequestOptions): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get({ host: '127.0.0.1', port, path: '/', agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    request.on('error', reject);
  });
}

/** The error code of a request that is expected to fail. */
async function httpsError(port: number, options: https.RequestOptions): Promise<string | undefined> {
  const outcome = await httpsGet(port, options).then(
    () => undefined,
    (err: NodeJS.ErrnoException) => err.code ?? 'no code',
  );
  if (outcome === undefined) throw new Error('the request succeeded');
  return outcome;
}

/**
 * Fetches argv[1] with urllib and prints "<status> <body>", or the SSL reason on failure. argv[2] is an
 * optional cafile; without it the default context reads SSL_CERT_FILE, as the worker does. X509_STRICT is
 * what Python 3.13 turns on by default, so the certificates must pass it.
 */
const PYTHON_CLIENT = `
import ssl, sys, urllib.error, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2] if len(sys.argv) > 2 else None)
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
try:
    with urllib.request.urlopen(sys.argv[1], context=ctx, timeout=10) as res:
        print(res.status, res.read().decode())
except urllib.error.URLError as err:
    print(getattr(err.reason, 'reason', err.reason))
`;

async function runPython(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await execFileAsync('python3', ['-c', PYTHON_CLIENT, ...args], {
    env: { ...process.env, SSL_CERT_DIR: path.join(root, 'no-cert-dir'), ...env },
    timeout: 20_000,
  });
  return stdout.trim();
}

function hasPython(): boolean {
  return spawnSync('python3', ['--version']).status === 0;
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

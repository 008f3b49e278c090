import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureLocalTls } from '../../src/tls/local-ca.js';
import { parseCertificateName } from '../../src/tls/names.js';
import { DAY_MS, issueServerCert } from '../../src/tls/x509.js';

/**
 * Issue 15 item 10: the local CA could vouch for any name for 10 years. Now it is name-constrained to the
 * server's names, lives a year, and is rotated with an overlap in the trust bundle. Verified by Node's own
 * TLS stack (OpenSSL), which is what every Node client of Gantry uses.
 */

/** Serves `cert` (a chain) with `key` and reports how a client trusting `ca` fares: 'ok' or `<code>: <message>`. */
async function handshake(cert: string, key: string, ca: string, servername: string): Promise<string> {
  const server = tls.createServer({ cert, key }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await new Promise<string>((resolve) => {
      const port = (server.address() as AddressInfo).port;
      // The host name check is left out, so only the chain (and its name constraints) decides.
      const socket = tls.connect({ host: '127.0.0.1', port, ca, servername, checkServerIdentity: () => undefined }, () => {
        socket.destroy();
        resolve('ok');
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(`${err.code}: ${err.message}`));
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('the local CA (issue 15 item 10)', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gantry-ca-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const caKeyOf = (): string => readFileSync(path.join(dir, 'ca-key.pem'), 'utf8');
  const signingCaOf = (bundle: string): string => new X509Certificate(bundle).toString();

  it('signs for its own names only: a certificate it issued for another name fails verification', async () => {
    const local = await ensureLocalTls({ dir, hostnames: ['gantry.internal', '10.0.0.7'] });
    expect(await handshake(local.cert, local.key, local.ca, 'gantry.internal')).toBe('ok');
    const ca = { cert: signingCaOf(local.ca), key: caKeyOf() };
    for (const names of [['evil.example'], ['10.9.9.9'], ['gantry.internal.evil.example'], ['localhost', 'evil.example']]) {
      const forged = await issueServerCert(ca, names.map(parseCertificateName), Date.now());
      const outcome = await handshake(forged.cert + ca.cert, forged.key, local.ca, names[0]!);
      expect(outcome, names.join(",")).toMatch(/permitted subtree violation/);
    }
    // A subdomain of a permitted name is inside the constraint (RFC 5280), and so is a permitted address.
    const inside = await issueServerCert(ca, [{ kind: 'dns', name: 'api.gantry.internal' }, { kind: 'ip', name: '10.0.0.7' }], Date.now());
    expect(await handshake(inside.cert + ca.cert, inside.key, local.ca, 'api.gantry.internal')).toBe('ok');
  });

  it('lives a year and is rotated with an overlap: a client that loaded the bundle ahead keeps working', async () => {
    // The story starts 345 days ago, so the rotation falls on today and a real handshake can judge it.
    let now = Math.floor(Date.now() / 1000) * 1000 - 345 * DAY_MS;
    const clock = { now: () => now };
    const first = await ensureLocalTls({ dir, hostnames: [], clock });
    const expires = new X509Certificate(first.ca).validTo;
    expect(Date.parse(expires) - now).toBeLessThanOrEqual(366 * DAY_MS);

    now = Date.parse(expires) - 60 * DAY_MS;
    const ahead = await ensureLocalTls({ dir, hostnames: [], clock });
    expect(ahead.createdCa).toBe(false);
    expect(ahead.ca.match(/BEGIN CERTIFICATE/g)).toHaveLength(2); // the next CA joined the bundle

    now = Date.parse(expires) - 20 * DAY_MS;
    const rotated = await ensureLocalTls({ dir, hostnames: [], clock });
    expect(rotated.createdCa).toBe(true);
    expect(new X509Certificate(rotated.ca).fingerprint256).not.toBe(new X509Certificate(first.ca).fingerprint256);
    // Signed by the CA that was second in the bundle the client loaded 40 days earlier.
    expect(await handshake(rotated.cert, rotated.key, ahead.ca, 'localhost')).toBe('ok');
    expect(rotated.ca).toContain(signingCaOf(first.ca).trim()); // the old CA stays until it expires

    now = Date.parse(expires) + DAY_MS;
    const after = await ensureLocalTls({ dir, hostnames: [], clock });
    expect(after.ca.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    expect(after.ca).not.toContain(signingCaOf(first.ca).trim());
  });
});

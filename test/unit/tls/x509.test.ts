import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { certificateNames } from '../../../src/tls/names.js';
import { issueCa, issueServerCert, readCertificate, serialNumberHex } from '../../../src/tls/x509.js';

describe('serialNumberHex', () => {
  it.each([
    { name: 'keeps a value whose top bit is clear', bytes: '7f' + '11'.repeat(15), expected: '7f' + '11'.repeat(15) },
    { name: 'pads a value whose top bit is set', bytes: 'ff' + '11'.repeat(15), expected: '00ff' + '11'.repeat(15) },
    { name: 'strips leading zero bytes', bytes: '0000' + '22'.repeat(14), expected: '22'.repeat(14) },
    { name: 'pads after stripping', bytes: '0080' + '22'.repeat(14), expected: '0080' + '22'.repeat(14) },
    { name: 'never returns zero', bytes: '00'.repeat(16), expected: '01' },
  ])('$name', ({ bytes, expected }) => {
    expect(serialNumberHex(Buffer.from(bytes, 'hex'))).toBe(expected);
  });

  it('draws 128 random bits by default', () => {
    const serials = new Set(Array.from({ length: 50 }, () => serialNumberHex()));
    expect(serials.size).toBe(50);
    for (const serial of serials) expect(serial.replace(/^00/, '').length).toBeLessThanOrEqual(32);
  });
});

describe('issueServerCert', () => {
  it('chains to a CA whose machine name needs UTF-8 and is longer than a Common Name allows', async () => {
    const now = Date.now();
    const ca = await issueCa(now, `bücher_host-${'x'.repeat(80)}`);
    const server = await issueServerCert(ca, certificateNames([]), now);
    const caX509 = new X509Certificate(ca.cert);
    expect(caX509.subject).toMatch(/^CN=Gantry local CA \(bücher_host-x+\)$/m);
    expect(caX509.subject.split('\n')[0]).toHaveLength('CN='.length + 64);
    expect(new X509Certificate(server.cert).checkIssued(caX509)).toBe(true);
    expect(new X509Certificate(server.cert).verify(caX509.publicKey)).toBe(true);
  });

  it('reads back the names it was given', async () => {
    const now = Date.now();
    const ca = await issueCa(now, 'test');
    const names = certificateNames(['gantry.example', '10.1.2.3', 'fd00::7']);
    const server = await issueServerCert(ca, names, now);
    expect(readCertificate(server.cert).names).toEqual(names);
  });
});

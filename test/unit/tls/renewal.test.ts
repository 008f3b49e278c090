import { beforeAll, describe, expect, it } from 'vitest';
import { certificateNames } from '../../../src/tls/names.js';
import { caRenewal, serverRenewal } from '../../../src/tls/renewal.js';
import { DAY_MS, issueCa, issueServerCert, readCertificate, type CertificateFacts } from '../../../src/tls/x509.js';

const NOW = Date.parse('2030-06-01T12:00:00Z');
let ca: CertificateFacts;
let otherCa: CertificateFacts;
let server: CertificateFacts;
let strangerServer: CertificateFacts;

beforeAll(async () => {
  const caPair = await issueCa(NOW, 'test', certificateNames(['gantry.example']));
  const otherPair = await issueCa(NOW, 'test'); // same subject, different key
  ca = readCertificate(caPair.cert);
  otherCa = readCertificate(otherPair.cert);
  server = readCertificate((await issueServerCert(caPair, certificateNames(['gantry.example']), NOW)).cert);
  strangerServer = readCertificate((await issueServerCert(otherPair, certificateNames([]), NOW)).cert);
});

describe('caRenewal', () => {
  it.each([
    { name: 'keeps a fresh CA', at: () => NOW, cert: () => ca, expected: undefined },
    { name: 'keeps a CA, 31 days left', at: () => ca.notAfter - 31 * DAY_MS, cert: () => ca, expected: undefined },
    { name: 'renews a CA, 29 days left', at: () => ca.notAfter - 29 * DAY_MS, cert: () => ca, expected: 'expiring' },
    { name: 'renews a CA not yet valid', at: () => ca.notBefore - 1000, cert: () => ca, expected: 'not-yet-valid' },
    { name: 'refuses a server certificate as CA', at: () => NOW, cert: () => server, expected: 'not-a-ca' },
  ])('$name', ({ at, cert, expected }) => {
    expect(caRenewal(cert(), at(), certificateNames([]))).toBe(expected);
  });

  it('replaces a CA whose name constraints leave out a requested name (issue 15 item 10)', () => {
    expect(caRenewal(otherCa, NOW, certificateNames(['gantry.example']))).toBe('outside-constraints');
    expect(caRenewal(ca, NOW, certificateNames(['gantry.example']))).toBeUndefined();
  });

  it('replaces a CA without name constraints', () => {
    expect(caRenewal({ ...ca, permitted: undefined }, NOW, certificateNames([]))).toBe('unconstrained');
  });
});

describe('serverRenewal', () => {
  const requested = (extra: string[] = []) => certificateNames(extra);

  it.each([
    { name: 'keeps a certificate with every name', at: NOW, hostnames: ['Gantry.Example'], expected: undefined },
    { name: 'keeps a certificate with extra names', at: NOW, hostnames: [], expected: undefined },
    { name: 'renews when a name is missing', at: NOW, hostnames: ['10.0.0.9'], expected: 'missing-name' },
    { name: 'keeps it 59 days on (31 left)', at: NOW + 59 * DAY_MS, hostnames: [], expected: undefined },
    { name: 'renews it 61 days on (29 left)', at: NOW + 61 * DAY_MS, hostnames: [], expected: 'expiring' },
    { name: 'renews it when the clock went back', at: NOW - DAY_MS, hostnames: [], expected: 'not-yet-valid' },
  ])('$name', ({ at, hostnames, expected }) => {
    expect(serverRenewal(server, ca, requested(hostnames), at)).toBe(expected);
  });

  it('renews a certificate signed by another CA, even one with the same subject', () => {
    expect(serverRenewal(strangerServer, ca, requested(), NOW)).toBe('other-issuer');
    expect(serverRenewal(server, otherCa, requested(), NOW)).toBe('other-issuer');
  });
});

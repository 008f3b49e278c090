import { describe, expect, it } from 'vitest';
import {
  certificateNames,
  ipFromBytes,
  ipToBytes,
  isIpAddress,
  parseCertificateName,
} from '../../../src/tls/names.js';

describe('isIpAddress', () => {
  it.each([
    { name: 'IPv4', input: '10.0.0.1', expected: true },
    { name: 'IPv6', input: 'fd00::1', expected: true },
    { name: 'bracketed IPv6', input: '[::1]', expected: true },
    { name: 'DNS name', input: 'gantry.example', expected: false },
    { name: 'short dotted number', input: '1.2.3', expected: false },
    { name: 'empty string', input: '', expected: false },
  ])('returns $expected for $name', ({ input, expected }) => {
    expect(isIpAddress(input)).toBe(expected);
  });
});

describe('parseCertificateName', () => {
  it.each([
    { name: 'lower-cases DNS names', input: 'Gantry.Example', expected: { kind: 'dns', name: 'gantry.example' } },
    { name: 'drops a trailing dot', input: 'gantry.example.', expected: { kind: 'dns', name: 'gantry.example' } },
    { name: 'punycodes IDNs', input: 'münchen.de', expected: { kind: 'dns', name: 'xn--mnchen-3ya.de' } },
    { name: 'keeps wildcards', input: '*.gantry.example', expected: { kind: 'dns', name: '*.gantry.example' } },
    { name: 'keeps IPv4', input: '192.168.1.20', expected: { kind: 'ip', name: '192.168.1.20' } },
    { name: 'compresses IPv6', input: 'FD00:0:0:0::0001', expected: { kind: 'ip', name: 'fd00::1' } },
    { name: 'unwraps brackets', input: '[::1]', expected: { kind: 'ip', name: '::1' } },
    { name: 'rewrites IPv4-mapped IPv6', input: '::ffff:1.2.3.4', expected: { kind: 'ip', name: '::ffff:102:304' } },
  ])('$name', ({ input, expected }) => {
    expect(parseCertificateName(input)).toEqual(expected);
  });

  it.each(['', 'has space', 'path/name', '-leading.example', 'a..b', 'fe80::1%eth0', 'x'.repeat(64) + '.example'])(
    'rejects %j, naming it',
    (input) => {
      expect(() => parseCertificateName(input)).toThrow(JSON.stringify(input));
    },
  );
});

describe('certificateNames', () => {
  it('puts the loopback names first and drops duplicates in any spelling', () => {
    const names = certificateNames(['LOCALHOST', '[::1]', '0:0::1', 'gantry.example', 'Gantry.Example.']);
    expect(names).toEqual([
      { kind: 'dns', name: 'localhost' },
      { kind: 'ip', name: '127.0.0.1' },
      { kind: 'ip', name: '::1' },
      { kind: 'dns', name: 'gantry.example' },
    ]);
  });
});

describe('ipToBytes and ipFromBytes', () => {
  it.each(['127.0.0.1', '::1', '::', 'fd00::7', '1::', '2001:db8:0:1:2:3:4:5', '::ffff:102:304'])(
    'round-trips %s through the 4 or 16 bytes a certificate stores',
    (ip) => {
      const bytes = ipToBytes(ip);
      expect(bytes).toHaveLength(ip.includes(':') ? 16 : 4);
      expect(ipFromBytes(bytes)).toBe(ip);
    },
  );

  it('encodes IPv6 groups in network order', () => {
    expect(ipToBytes('fd00::7').toString('hex')).toBe('fd000000000000000000000000000007');
  });

  it('ignores an IP entry of the wrong length', () => {
    expect(ipFromBytes(Buffer.from([1, 2, 3]))).toBeUndefined();
  });
});

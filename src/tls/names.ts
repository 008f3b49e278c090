import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/**
 * One subjectAltName entry in canonical form, so a requested name and the same name read back from a
 * certificate compare equal: DNS names are lower-case ASCII without a trailing dot (IDNs in punycode), IPv4
 * is dotted decimal and IPv6 is the compressed lower-case form (`::1`, `::ffff:102:304`).
 */
export interface CertificateName {
  kind: 'dns' | 'ip';
  name: string;
}

/** Every local server certificate answers to these, so loopback clients verify whatever they dial. */
export const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** RFC 1123 labels (underscores tolerated, as resolvers do), with an optional leading `*.` wildcard. */
const DNS_NAME = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** True for an IPv4 or IPv6 address, bracketed (`[::1]`, as in URLs) or not. */
export function isIpAddress(name: string): boolean {
  return isIP(stripBrackets(name.trim())) !== 0;
}

/** Classifies one requested name as an IP address or a DNS name and canonicalizes it; throws if it is neither. */
export function parseCertificateName(raw: string): CertificateName {
  const name = stripBrackets(raw.trim());
  if (isIP(name) !== 0) return { kind: 'ip', name: canonicalIp(name, raw) };
  return { kind: 'dns', name: canonicalDnsName(name, raw) };
}

/** The loopback names plus `hostnames`, canonical and without duplicates, in that order. */
export function certificateNames(hostnames: readonly string[]): CertificateName[] {
  const byKey = new Map<string, CertificateName>();
  for (const raw of [...LOOPBACK_NAMES, ...hostnames]) {
    const name = parseCertificateName(raw);
    byKey.set(nameKey(name), name);
  }
  return [...byKey.values()];
}

/** A string that is equal for equal names, for set membership. */
export function nameKey(name: CertificateName): string {
  return `${name.kind}:${name.name}`;
}

/** The network-order bytes of a canonical IP address (the form a certificate stores). */
export function ipToBytes(canonical: string): Buffer {
  if (isIP(canonical) === 4) return Buffer.from(canonical.split('.').map(Number));
  const [head = '', tail] = canonical.split('::');
  const groups = (part: string | undefined): string[] => (part ? part.split(':') : []);
  const left = groups(head);
  const right = groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return Buffer.from(all.flatMap((group) => [parseInt(group, 16) >> 8, parseInt(group, 16) & 0xff]));
}

/** The canonical text of a certificate's IP entry, or undefined when it is neither 4 nor 16 bytes. */
export function ipFromBytes(bytes: Buffer): string | undefined {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) return undefined;
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  return canonicalIp(groups.join(':'), groups.join(':'));
}

function canonicalIp(ip: string, raw: string): string {
  if (isIP(ip) === 4) return ip.split('.').map(Number).join('.');
  try {
    // The WHATWG URL parser prints IPv6 in RFC 5952 form, which is what makes equal addresses compare equal.
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    throw new Error(`TLS name ${JSON.stringify(raw)}: an IPv6 address with a zone index cannot go in a certificate`);
  }
}

function canonicalDnsName(name: string, raw: string): string {
  const withoutDot = name.endsWith('.') ? name.slice(0, -1) : name;
  // domainToASCII alone is too forgiving (it turns "foo/bar" into "foo"), so only IDNs go through it.
  const ascii = /^[\x21-\x7e]*$/.test(withoutDot) ? withoutDot.toLowerCase() : domainToASCII(withoutDot);
  if (ascii.length === 0 || ascii.length > 253 || !DNS_NAME.test(ascii)) {
    throw new Error(`TLS name ${JSON.stringify(raw)} is neither an IP address nor a valid DNS name`);
  }
  return ascii;
}

function stripBrackets(name: string): string {
  return name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
}

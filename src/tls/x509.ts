import { X509Certificate, generateKeyPair, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { certificateNames, ipFromBytes, ipToBytes, type CertificateName } from './names.js';

/** A certificate and its private key, both PEM with LF line ends. */
export interface PemPair {
  cert: string;
  key: string;
}

/** What the renewal checks need from a certificate, parsed once. */
export interface CertificateFacts {
  x509: X509Certificate;
  notBefore: number;
  notAfter: number;
  /** The subjectAltName DNS and IP entries, canonical (other kinds are ignored). */
  names: CertificateName[];
  /**
   * A CA's nameConstraints permitted subtrees (DNS names, and IP addresses with a full mask), canonical;
   * undefined when the certificate has no nameConstraints extension.
   */
  permitted: CertificateName[] | undefined;
}

export const DAY_MS = 86_400_000;

/**
 * 90 days, well inside the CA's year: renewed 30 days before expiry (renewal.ts), at start and by the
 * running server's daily check, as Let's Encrypt certificates are.
 */
export const SERVER_VALIDITY_MS = 90 * DAY_MS;

/** Backdating notBefore keeps a client whose clock runs slow from calling a new certificate "not yet valid". */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * One year: a CA key that leaks is useful for a year at most, and only for the names it is constrained to.
 * It is rotated before it expires, with the next CA in the trust bundle ahead of time (ca-rotation.ts).
 */
export const CA_VALIDITY_MS = 365 * DAY_MS;

/** id-ce-nameConstraints (RFC 5280 §4.2.1.10); forge reads it but cannot write it from fields. */
const NAME_CONSTRAINTS_OID = '2.5.29.30';

/** The Common Name is limited to 64 characters (RFC 5280 ub-common-name). */
const MAX_COMMON_NAME = 64;

const generateKeyPairAsync = promisify(generateKeyPair);

/** The ASN.1 tag of UTF8String; forge's typings declare valueTagClass with the wrong enum. */
const UTF8 = forge.asn1.Type.UTF8 as number as forge.asn1.Class;

/**
 * A self-signed CA that may sign end-entity certificates only (pathLen 0), and only for `names`: its
 * critical nameConstraints permit exactly those DNS names (and their subdomains, as RFC 5280 has it) and
 * IP addresses, so a certificate it signed for any other name fails verification.
 */
export async function issueCa(now: number, machine: string = hostname(), names: readonly CertificateName[] = certificateNames([])): Promise<PemPair> {
  const key = await generateRsaKey();
  const cert = newCertificate(key.publicKey, now - CLOCK_SKEW_MS, now + CA_VALIDITY_MS);
  const subject = caSubject(machine);
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { id: NAME_CONSTRAINTS_OID, critical: true, value: nameConstraintsDer(names) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: true },
  ]);
  return signed(cert, key.privateKey, key.privateKey);
}

/** A TLS server certificate for `names`, signed by `ca`, never outliving it. */
export async function issueServerCert(ca: PemPair, names: readonly CertificateName[], now: number): Promise<PemPair> {
  const key = await generateRsaKey();
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const notAfter = Math.min(now + SERVER_VALIDITY_MS, caCert.validity.notAfter.getTime());
  const cert = newCertificate(key.publicKey, now - CLOCK_SKEW_MS, notAfter);
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(issuerOf(caCert));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map(toAltName) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: subjectKeyIdentifier(caCert) },
  ]);
  return signed(cert, ca.key, key.privateKey);
}

/** Parses a PEM certificate (the first one, if several); throws on anything malformed. */
export function readCertificate(pem: string): CertificateFacts {
  const cert = forge.pki.certificateFromPem(pem);
  return {
    x509: new X509Certificate(pem),
    notBefore: cert.validity.notBefore.getTime(),
    notAfter: cert.validity.notAfter.getTime(),
    names: subjectAltNames(cert),
    permitted: permittedNames(cert),
  };
}

/**
 * A random positive 128-bit serial in minimal DER form. RFC 5280 wants serials positive and unique per CA;
 * strict parsers (Go's crypto/x509 among them) reject negative or zero-padded ones, and forge
 * writes the hex as given, so the encoding is done here.
 */
export function serialNumberHex(bytes: Buffer = randomBytes(16)): string {
  const hex = bytes.toString('hex').replace(/^(00)+/, '') || '01';
  return parseInt(hex.slice(0, 2), 16) >= 0x80 ? `00${hex}` : hex;
}

/** RSA rather than EC because forge only speaks RSA; Node's native generator is fast where forge's is not. */
async function generateRsaKey(): Promise<{ publicKey: string; privateKey: string }> {
  return generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

function newCertificate(publicKeyPem: string, notBefore: number, notAfter: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = serialNumberHex();
  cert.validity.notBefore = new Date(notBefore);
  cert.validity.notAfter = new Date(notAfter);
  return cert;
}

function signed(cert: forge.pki.Certificate, signerKeyPem: string, keyPem: string): PemPair {
  cert.sign(forge.pki.privateKeyFromPem(signerKeyPem), forge.md.sha256.create());
  // forge writes CRLF; LF keeps the files and the concatenated chain uniform.
  return { cert: forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n'), key: keyPem };
}

function caSubject(machine: string): forge.pki.CertificateField[] {
  const prefix = 'Gantry local CA (';
  const commonName = `${prefix}${[...machine].slice(0, MAX_COMMON_NAME - prefix.length - 1).join('')})`;
  return [
    // UTF8String, because a host name may hold characters PrintableString (forge's default) cannot, like "_".
    { name: 'commonName', value: commonName, valueTagClass: UTF8 },
    { name: 'organizationName', value: 'Gantry' },
  ] as forge.pki.CertificateField[];
}

/**
 * The CA's subject as the issuer of a new certificate. forge parses UTF8String values as raw bytes but
 * encodes them again when writing, so they are decoded first; a changed byte would break the chain.
 */
function issuerOf(caCert: forge.pki.Certificate): forge.pki.CertificateField[] {
  return caCert.subject.attributes.map((attr) =>
    attr.valueTagClass === UTF8 ? { ...attr, value: forge.util.decodeUtf8(String(attr.value)) } : attr,
  );
}

/**
 * NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees }, each GeneralSubtree a
 * SEQUENCE holding its base GeneralName: dNSName [2] IA5String, iPAddress [7] address followed by a
 * mask (all ones: this one address). As DER bytes.
 */
export function nameConstraintsDer(names: readonly CertificateName[]): string {
  const { create, Class, Type, toDer } = forge.asn1;
  const base = (name: CertificateName) =>
    name.kind === 'dns'
      ? create(Class.CONTEXT_SPECIFIC, 2, false, name.name.replace(/^\*\./, ''))
      : create(Class.CONTEXT_SPECIFIC, 7, false, ipWithMask(name.name).toString('binary'));
  const subtrees = names.map((name) => create(Class.UNIVERSAL, Type.SEQUENCE, true, [base(name)]));
  return toDer(create(Class.UNIVERSAL, Type.SEQUENCE, true, [create(Class.CONTEXT_SPECIFIC, 0, true, subtrees)])).getBytes();
}

function ipWithMask(ip: string): Buffer {
  const address = ipToBytes(ip);
  return Buffer.concat([address, Buffer.alloc(address.length, 0xff)]);
}

/** The permitted subtrees of a nameConstraints extension, as names; undefined without one. */
function permittedNames(cert: forge.pki.Certificate): CertificateName[] | undefined {
  // By id: forge names the deprecated 2.5.29.11 "nameConstraints" too.
  const byId = cert.getExtension as unknown as (options: { id: string }) => { permittedSubtrees?: { type: number; value: string }[] } | undefined;
  const extension = byId.call(cert, { id: NAME_CONSTRAINTS_OID });
  if (!extension) return undefined;
  const names: CertificateName[] = [];
  for (const { type, value } of extension.permittedSubtrees ?? []) {
    if (type === 2) names.push({ kind: 'dns', name: value.toLowerCase() });
    const bytes = Buffer.from(value, 'binary');
    const ip = type === 7 ? ipFromBytes(bytes.subarray(0, bytes.length / 2)) : undefined;
    if (ip !== undefined) names.push({ kind: 'ip', name: ip });
  }
  return names;
}

/** The CA's own key identifier, so clients can pick the right issuer even after the CA was replaced. */
function subjectKeyIdentifier(caCert: forge.pki.Certificate): string {
  const extension = caCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  if (extension?.subjectKeyIdentifier) return forge.util.hexToBytes(extension.subjectKeyIdentifier);
  return caCert.generateSubjectKeyIdentifier().getBytes();
}

function toAltName(name: CertificateName): { type: number; value: string } {
  // GeneralName tags: 2 = dNSName, 7 = iPAddress. IP bytes are passed raw because forge's own IPv6 parser
  // mishandles forms such as "::ffff:1.2.3.4".
  if (name.kind === 'dns') return { type: 2, value: name.name };
  return { type: 7, value: ipToBytes(name.name).toString('binary') };
}

function subjectAltNames(cert: forge.pki.Certificate): CertificateName[] {
  const extension = cert.getExtension('subjectAltName') as { altNames?: { type: number; value: string }[] } | undefined;
  const names: CertificateName[] = [];
  for (const { type, value } of extension?.altNames ?? []) {
    if (type === 2) names.push({ kind: 'dns', name: value.toLowerCase() });
    const ip = type === 7 ? ipFromBytes(Buffer.from(value, 'binary')) : undefined;
    if (ip !== undefined) names.push({ kind: 'ip', name: ip });
  }
  return names;
}

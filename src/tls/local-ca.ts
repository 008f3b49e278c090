/**
 * The embedded default's TLS (spec §8.22). The unmodified Sprocket worker only speaks https, so on first
 * start Gantry makes its own certificate authority and a server certificate signed by it, and points local
 * workers at the CA with SSL_CERT_FILE. One directory holds everything:
 *
 *   ca.pem           the trust bundle clients load (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS), ca-bundle.ts:
 *                    the signing CA first, then the next one and still-valid replaced ones
 *   ca-key.pem       the signing CA's private key; read only here, to sign server certificates
 *   ca-next.pem      the CA that takes over, made 90 days before the signing CA expires,
 *   ca-next-key.pem  and its key
 *   server.pem       server certificate (the leaf alone; the served chain appends the signing CA)
 *   server-key.pem   server private key
 *
 * Every file is 0600. The CA is name-constrained to the server's names (x509.ts) and lives one year: 90
 * days before it expires its successor is made and joins the bundle, and 30 days before, the successor
 * takes over signing (the old CA stays in the bundle until it expires). A CA is replaced at once when its
 * files are unusable, when it has no name constraints, or when the server's names leave them; clients
 * must then load ca.pem again. The server certificate (90 days) is reissued whenever `renewal.ts` finds a
 * reason; a new signing CA always brings a new server certificate.
 *
 * There is no lock between processes: one Gantry server owns a data directory. Two racing first starts
 * could pair one's CA key with the other's certificate; the key check below notices and replaces them.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import path from 'node:path';
import { isoTime, systemClock, type Clock } from '../shared/clock.js';
import { certificateNames, type CertificateName } from './names.js';
import {
  CERT_FILE_MODE,
  KEY_FILE_MODE,
  ensurePrivateDir,
  readTextIfPresent,
  tightenKeyMode,
  writeFileAtomic,
} from './pem-files.js';
import { rm } from 'node:fs/promises';
import { bundleOf, certificatesOf } from './ca-bundle.js';
import { caRenewal, PREPARE_NEXT_CA_MS, serverRenewal } from './renewal.js';
import { issueCa, issueServerCert, readCertificate, type CertificateFacts, type PemPair } from './x509.js';

export { isIpAddress } from './names.js';

export interface LocalTlsOptions {
  /** Directory for the CA and server certificate, created 0700 when absent (Gantry: `dataPaths(dataDir).tls`). */
  dir: string;
  /**
   * Names the server certificate must carry besides localhost, 127.0.0.1 and ::1: DNS names or IP
   * addresses (IPv6 with or without brackets). An invalid name throws before any file is touched.
   */
  hostnames: readonly string[];
  /** Time source for validity and renewal (default: systemClock). */
  clock?: Clock;
}

export interface LocalTls {
  /** The CA certificate file clients must trust. */
  caCertFile: string;
  /** The server certificate file (the leaf only). */
  certFile: string;
  /** The server private key file (0600). */
  keyFile: string;
  /** The chain to serve: the server certificate followed by the CA certificate, PEM. */
  cert: string;
  /** The server private key, PEM (PKCS#8). */
  key: string;
  /** The CA certificate, PEM. */
  ca: string;
  /** True when this call made a new CA (first start, or the old one was unusable or expiring). */
  createdCa: boolean;
  /** True when this call issued a new server certificate. */
  createdCert: boolean;
}

/** The facts a start-up banner prints about the local TLS. */
export interface TlsSummary {
  caFile: string;
  /** SHA-256 fingerprint of the CA certificate, colon-separated upper-case hex (as browsers show it). */
  caFingerprint256: string;
  /** The subjectAltNames of the server certificate, DNS names and IP addresses. */
  serverNames: string[];
  /** When the server certificate expires, ISO 8601. */
  serverNotAfter: string;
}

interface TlsFiles {
  caCert: string;
  caKey: string;
  nextCert: string;
  nextKey: string;
  serverCert: string;
  serverKey: string;
}

interface StoredPair extends PemPair {
  facts: CertificateFacts;
  created: boolean;
}

/**
 * Makes sure `dir` holds a usable CA and a server certificate for localhost and `hostnames`, creating or
 * renewing what is needed, and returns what a server needs to serve TLS. Asynchronous because it generates
 * RSA keys off the main thread and does its file I/O without blocking.
 */
export async function ensureLocalTls(options: LocalTlsOptions): Promise<LocalTls> {
  const names = certificateNames(options.hostnames);
  const now = (options.clock ?? systemClock).now();
  const files = tlsFiles(options.dir);
  await ensurePrivateDir(options.dir);
  const { ca, bundle } = await ensureCa(files, names, now);
  const server = await ensureServerCert(files, ca, names, now);
  return {
    caCertFile: files.caCert,
    certFile: files.serverCert,
    keyFile: files.serverKey,
    cert: chain(server.cert, ca.cert),
    key: server.key,
    ca: bundle,
    createdCa: ca.created,
    createdCert: server.created,
  };
}

/** CA path, CA fingerprint and the server certificate's names and expiry, for the start-up banner. */
export function describeTls(tls: Pick<LocalTls, 'caCertFile' | 'ca' | 'cert'>): TlsSummary {
  const server = readCertificate(tls.cert);
  return {
    caFile: tls.caCertFile,
    caFingerprint256: new X509Certificate(tls.ca).fingerprint256,
    serverNames: server.names.map((name) => name.name),
    serverNotAfter: isoTime(server.notAfter),
  };
}

function tlsFiles(dir: string): TlsFiles {
  return {
    caCert: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca-key.pem'),
    nextCert: path.join(dir, 'ca-next.pem'),
    nextKey: path.join(dir, 'ca-next-key.pem'),
    serverCert: path.join(dir, 'server.pem'),
    serverKey: path.join(dir, 'server-key.pem'),
  };
}

/**
 * The CA that signs (kept, the next one promoted, or a new one), the next CA when it is due, and the
 * bundle they make with the CAs replaced, written to ca.pem when it changed.
 */
async function ensureCa(files: TlsFiles, names: readonly CertificateName[], now: number): Promise<{ ca: StoredPair; bundle: string }> {
  const stored = await readTextIfPresent(files.caCert);
  const current = await loadPair(files.caCert, files.caKey);
  const next = await loadPair(files.nextCert, files.nextKey);
  const usable = (pair: typeof current): pair is NonNullable<typeof current> => !!pair && caRenewal(pair.facts, now, names) === undefined;
  const ca = usable(current) ? await reuse(current, files.caKey) : await takeOver(files, usable(next) ? next : undefined, names, now);
  const due = ca.facts.notAfter - now < PREPARE_NEXT_CA_MS;
  const successor = due ? (usable(next) && !ca.created ? next : await storeNext(files, names, now)) : undefined;
  if (!due) await removeNext(files);
  const bundle = bundleOf(ca, successor, [...(current ? [current] : []), ...certificatesOf(stored)], now);
  if (bundle !== stored) await writeFileAtomic(files.caCert, bundle, CERT_FILE_MODE);
  return { ca, bundle };
}

/** The next CA becomes the signing one (or a new CA, when there is none): its key goes to ca-key.pem. */
async function takeOver(files: TlsFiles, next: Omit<StoredPair, 'created'> | undefined, names: readonly CertificateName[], now: number): Promise<StoredPair> {
  const pair = next ?? (await issueCa(now, undefined, names));
  // The key first: a crash before ca.pem is rewritten leaves a mismatch that the next start repairs
  // from the ca-next files, still there until removeNext.
  await writeFileAtomic(files.caKey, pair.key, KEY_FILE_MODE);
  return { cert: pair.cert, key: pair.key, facts: readCertificate(pair.cert), created: true };
}

async function storeNext(files: TlsFiles, names: readonly CertificateName[], now: number): Promise<StoredPair> {
  return store(await issueCa(now, undefined, names), files.nextCert, files.nextKey);
}

async function removeNext(files: TlsFiles): Promise<void> {
  await Promise.all([rm(files.nextCert, { force: true }), rm(files.nextKey, { force: true })]);
}

async function ensureServerCert(
  files: TlsFiles,
  ca: StoredPair,
  names: readonly CertificateName[],
  now: number,
): Promise<StoredPair> {
  const existing = ca.created ? undefined : await loadPair(files.serverCert, files.serverKey);
  if (existing && serverRenewal(existing.facts, ca.facts, names, now) === undefined) {
    return reuse(existing, files.serverKey);
  }
  return store(await issueServerCert(ca, names, now), files.serverCert, files.serverKey);
}

/** A stored certificate and its key, or undefined when either is missing, corrupt, or they do not match. */
/** The first certificate of `certFile` (ca.pem is a bundle: the signing CA comes first) and its key. */
async function loadPair(certFile: string, keyFile: string): Promise<Omit<StoredPair, 'created'> | undefined> {
  const [text, key] = await Promise.all([readTextIfPresent(certFile), readTextIfPresent(keyFile)]);
  const first = certificatesOf(text)[0];
  if (first === undefined || key === undefined) return undefined;
  try {
    return first.facts.x509.checkPrivateKey(createPrivateKey(key)) ? { cert: first.cert, key, facts: first.facts } : undefined;
  } catch {
    return undefined; // unparsable: replaced like a missing file
  }
}

async function reuse(pair: Omit<StoredPair, 'created'>, keyFile: string): Promise<StoredPair> {
  await tightenKeyMode(keyFile);
  return { ...pair, created: false };
}

async function store(pair: PemPair, certFile: string, keyFile: string): Promise<StoredPair> {
  // A crash between the two writes leaves a certificate beside a key it does not match; loadPair detects
  // that on the next start and both are issued again.
  await writeFileAtomic(keyFile, pair.key, KEY_FILE_MODE);
  await writeFileAtomic(certFile, pair.cert, CERT_FILE_MODE);
  return { ...pair, facts: readCertificate(pair.cert), created: true };
}

function chain(...pems: string[]): string {
  return pems.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');
}

import { nameKey, type CertificateName } from './names.js';
import { DAY_MS, type CertificateFacts } from './x509.js';

/**
 * Why a stored certificate cannot be reused (undefined: it can).
 * - `not-a-ca`: the CA file holds no self-signed CA certificate.
 * - `unconstrained`: the CA has no nameConstraints (made by a version before them).
 * - `outside-constraints`: a requested name is not among the CA's permitted names.
 * - `other-issuer`: the server certificate was not signed by the current CA (the CA was replaced).
 * - `missing-name`: a requested name is not among its subjectAltNames (extra names are harmless).
 * - `not-yet-valid`: the clock went back past its notBefore, so every client would refuse it.
 * - `expiring`: fewer than 30 days remain.
 */
export type Renewal =
  | 'not-a-ca'
  | 'unconstrained'
  | 'outside-constraints'
  | 'other-issuer'
  | 'missing-name'
  | 'not-yet-valid'
  | 'expiring';

/**
 * Renew this long before expiry. Certificates are loaded at start-up only, so the margin is what keeps a
 * server that runs for weeks from serving a lapsed certificate; it also fits Let's Encrypt's habit.
 */
export const RENEW_BEFORE_MS = 30 * DAY_MS;

/**
 * A CA this close to expiry gets its successor made and put in the trust bundle, so clients that reload
 * the bundle in the next 60 days already trust the CA that takes over at RENEW_BEFORE_MS.
 */
export const PREPARE_NEXT_CA_MS = 90 * DAY_MS;

/** Whether the stored CA can keep signing server certificates for `names`. */
export function caRenewal(ca: CertificateFacts, now: number, names: readonly CertificateName[]): Renewal | undefined {
  if (!ca.x509.ca || !ca.x509.verify(ca.x509.publicKey)) return 'not-a-ca';
  if (ca.permitted === undefined) return 'unconstrained';
  const permitted = new Set(ca.permitted.map(nameKey));
  if (names.some((name) => !permitted.has(nameKey(name)))) return 'outside-constraints';
  return validityRenewal(ca, now);
}

/** Whether the stored server certificate still fits the CA, the requested names and the clock. */
export function serverRenewal(
  server: CertificateFacts,
  ca: CertificateFacts,
  names: readonly CertificateName[],
  now: number,
): Renewal | undefined {
  if (!server.x509.checkIssued(ca.x509) || !server.x509.verify(ca.x509.publicKey)) return 'other-issuer';
  const held = new Set(server.names.map(nameKey));
  if (names.some((name) => !held.has(nameKey(name)))) return 'missing-name';
  return validityRenewal(server, now);
}

function validityRenewal(cert: CertificateFacts, now: number): Renewal | undefined {
  if (cert.notBefore > now) return 'not-yet-valid';
  return cert.notAfter - now < RENEW_BEFORE_MS ? 'expiring' : undefined;
}

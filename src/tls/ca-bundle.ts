import { readCertificate, type CertificateFacts } from './x509.js';

/**
 * The trust bundle `ca.pem` that clients load (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS): the CA that signs
 * the server certificate first, then the CA that will take over (made 90 days ahead), then CAs it
 * replaced while they are still valid. A CA without name constraints (made before them) is never kept:
 * it could vouch for any name.
 */

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export interface BundledCa {
  cert: string;
  facts: CertificateFacts;
}

/** Every certificate of a PEM text that parses, in order. */
export function certificatesOf(pem: string | undefined): BundledCa[] {
  const found: BundledCa[] = [];
  for (const cert of pem?.match(PEM_CERTIFICATE) ?? []) {
    try {
      found.push({ cert: `${cert}\n`, facts: readCertificate(cert) });
    } catch {
      // unparsable: left out of the new bundle
    }
  }
  return found;
}

/** The bundle text: `signing`, `next`, then every `retired` CA still valid and constrained, each once. */
export function bundleOf(signing: BundledCa, next: BundledCa | undefined, retired: readonly BundledCa[], now: number): string {
  const seen = new Set<string>();
  const keep = (ca: BundledCa | undefined): ca is BundledCa => {
    if (!ca || seen.has(ca.facts.x509.fingerprint256)) return false;
    seen.add(ca.facts.x509.fingerprint256);
    return true;
  };
  const kept = [signing, next, ...retired.filter((ca) => isTrustworthy(ca.facts, now))].filter(keep);
  return kept.map((ca) => ca.cert).join('');
}

/** A CA worth trusting a while longer: a CA, name-constrained, not expired. */
function isTrustworthy(facts: CertificateFacts, now: number): boolean {
  return facts.x509.ca && facts.permitted !== undefined && facts.notAfter > now;
}

import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { LOOPBACK_NAMES, parseCertificateName, type CertificateName } from '../tls/names.js';

/**
 * The base of the URLs storage hands out (signed uploads, `?signed=1` redirects). GANTRY_PUBLIC_URL when
 * configured. Otherwise the request's `Host` is used only when it names this server: one of its names (the
 * listen host; loopback names when it listens on loopback or every address; the names in its TLS
 * certificate) at the port it listens on. The URL is then rebuilt from the canonical name, never copied
 * from the header. Any other `Host` (`a"b<c`, another site, another port) gets the listen URL.
 */
export interface BaseUrlSettings {
  /** GANTRY_PUBLIC_URL, when configured. */
  configured: string | undefined;
  /** The URL the server listens at (known once it listens). */
  listenUrl: () => string;
  /** GANTRY_HOST. */
  listenHost: string;
  /** The serving certificate (PEM), whose subjectAltNames the server answers to. */
  certificate: string | undefined;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::']);

/** `host[:port]` with a bracketed IPv6 host; nothing else (no userinfo, path or spaces). */
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/?#@"<>\\]+)(?::(\d{1,5}))?$/;

export function createBaseUrlOf(settings: BaseUrlSettings): (hostHeader: string | undefined) => string {
  if (settings.configured) {
    const fixed = settings.configured.replace(/\/+$/, '');
    return () => fixed;
  }
  const names = knownNames(settings);
  return (hostHeader) => {
    const listen = new URL(settings.listenUrl());
    return fromHost(hostHeader, listen, names) ?? listen.origin;
  };
}

function fromHost(hostHeader: string | undefined, listen: URL, names: CertificateName[]): string | undefined {
  const match = HOST_HEADER.exec(hostHeader ?? '');
  if (!match) return undefined;
  const name = safeName(match[1]!);
  const port = match[2] ?? defaultPort(listen.protocol);
  if (!name || port !== (listen.port || defaultPort(listen.protocol))) return undefined;
  if (!names.some((known) => matches(known, name))) return undefined;
  const host = name.kind === 'ip' && isIP(name.name) === 6 ? `[${name.name}]` : name.name;
  return `${listen.protocol}//${host}${listen.port ? `:${listen.port}` : ''}`;
}

function knownNames(settings: BaseUrlSettings): CertificateName[] {
  const raw = [...certificateSans(settings.certificate)];
  const host = settings.listenHost;
  if (WILDCARD_HOSTS.has(host) || LOOPBACK_NAMES.includes(host)) raw.push(...LOOPBACK_NAMES);
  if (!WILDCARD_HOSTS.has(host)) raw.push(host);
  return raw.map(safeName).filter((name): name is CertificateName => name !== undefined);
}

/** The DNS and IP subjectAltNames of a PEM certificate. */
function certificateSans(pem: string | undefined): string[] {
  if (!pem) return [];
  const san = new X509Certificate(pem).subjectAltName ?? '';
  return san
    .split(', ')
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1])
    .filter((name): name is string => name !== undefined);
}

function matches(known: CertificateName, name: CertificateName): boolean {
  if (known.kind !== name.kind) return false;
  if (known.name === name.name) return true;
  // A certificate's `*.example.com` covers exactly one more label.
  return known.kind === 'dns' && known.name.startsWith('*.') && name.name.split('.').slice(1).join('.') === known.name.slice(2);
}

function safeName(raw: string): CertificateName | undefined {
  try {
    return parseCertificateName(raw);
  } catch {
    return undefined;
  }
}

function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80';
}

import { readFileSync } from 'node:fs';
import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../shared/logger.js';
import { ensureLocalTls } from '../tls/local-ca.js';

export interface ServingTls {
  cert: string;
  key: string;
  /** The CA file clients should trust, when Gantry made its own. */
  caFile: string | undefined;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '127.0.0.1', 'localhost', '::1']);

/** What the server serves TLS with: a configured certificate, the local CA's, or nothing (plain HTTP). */
export async function resolveServingTls(config: ServerConfig, tlsDir: string): Promise<ServingTls | undefined> {
  switch (config.tls.mode) {
    case 'http':
      return undefined;
    case 'provided':
      return {
        cert: readPem(config.tls.certFile, 'GANTRY_TLS_CERT'),
        key: readPem(config.tls.keyFile, 'GANTRY_TLS_KEY'),
        caFile: undefined,
      };
    case 'local-ca': {
      const local = await ensureLocalTls({ dir: tlsDir, hostnames: certificateNames(config) });
      return { cert: local.cert, key: local.key, caFile: local.caCertFile };
    }
  }
}

/** Names beyond localhost the local certificate must carry: the listen host and the public URL's host. */
function certificateNames(config: ServerConfig): string[] {
  const names = new Set<string>();
  if (!WILDCARD_HOSTS.has(config.host)) names.add(config.host);
  if (config.publicUrl) names.add(new URL(config.publicUrl).hostname.replace(/^\[|\]$/g, ''));
  return [...names];
}

function readPem(file: string, variable: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** How often a running server checks its local certificates (rotation happens 30 days ahead). */
export const TLS_CHECK_INTERVAL_MS = 86_400_000;

export interface TlsRefreshOptions {
  /** What the server serves now. */
  current: ServingTls;
  /** The certificates as they should be now (resolveServingTls, which renews and rotates). */
  reload: () => Promise<ServingTls | undefined>;
  /** Serves the new ones (https.Server.setSecureContext). */
  apply: (tls: ServingTls) => void;
  logger: Logger;
  /** (default: TLS_CHECK_INTERVAL_MS) */
  intervalMs?: number;
}

/**
 * Keeps a long-running server on valid certificates: the local CA's server certificate lives 90 days and
 * the CA a year, and both are renewed ahead of expiry by `reload`. Returns the function that stops it.
 */
export function refreshServingTls(options: TlsRefreshOptions): () => void {
  let served = options.current.cert;
  const check = async (): Promise<void> => {
    const next = await options.reload();
    if (!next || next.cert === served) return;
    options.apply(next);
    served = next.cert;
    options.logger.info({}, 'serving a renewed TLS certificate');
  };
  const timer = setInterval(() => {
    check().catch((err: unknown) => options.logger.error({ err }, 'renewing the TLS certificate failed; retrying at the next check'));
  }, options.intervalMs ?? TLS_CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

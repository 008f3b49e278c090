import { readFileSync } from 'node:fs';
import type { ServerConfig } from '../config/schema.js';
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

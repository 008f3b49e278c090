import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * The CA to trust for `baseUrl`: the embedded server's own when the URL is a local one and its data
 * directory is found, else SSL_CERT_FILE when set; undefined means the system's roots (which Node extends
 * with NODE_EXTRA_CA_CERTS).
 */
export function trustedCa(baseUrl: string, dataDir: string | undefined, sslCertFile: string | undefined, cwd: string): string | undefined {
  const local = localCa(baseUrl, dataDir, cwd);
  if (local) return local;
  return sslCertFile && existsSync(sslCertFile) ? readFileSync(sslCertFile, 'utf8') : undefined;
}

/**
 * The embedded server's CA certificate, when the URL is a local one: `<data dir>/tls/ca.pem`, the data
 * directory being GANTRY_DATA_DIR, else the first `.gantry` found from `cwd` upwards (the server's default
 * `./.gantry`). Undefined for remote URLs, which must present a certificate the system trusts.
 */
export function localCa(baseUrl: string, dataDir: string | undefined, cwd: string): string | undefined {
  if (!LOCAL_HOSTS.has(new URL(baseUrl).hostname)) return undefined;
  const file = caFile(dataDir, cwd);
  return file ? readFileSync(file, 'utf8') : undefined;
}

function caFile(dataDir: string | undefined, cwd: string): string | undefined {
  if (dataDir) {
    const file = path.join(path.resolve(cwd, dataDir), 'tls', 'ca.pem');
    return existsSync(file) ? file : undefined;
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const file = path.join(dir, '.gantry', 'tls', 'ca.pem');
    if (existsSync(file)) return file;
    if (path.dirname(dir) === dir) return undefined;
  }
}

import { readFileSync } from 'node:fs';
import nodeVault from 'node-vault';

/** The node-vault client type; only `secrets/vault/` imports node-vault (STYLE.md rule 7). */
export type VaultClient = nodeVault.client;

export interface VaultClientOptions {
  /** `VAULT_ADDR`. */
  address: string;
  /** PEM CA bundle (`VAULT_CACERT`). */
  caFile?: string;
  /** PEM client certificate and key (`VAULT_CLIENT_CERT`, `VAULT_CLIENT_KEY`). */
  certFile?: string;
  keyFile?: string;
  /** Enterprise namespace (`VAULT_NAMESPACE`). */
  namespace?: string;
  /** Per-request timeout, ms; node-vault has none by default (default: 10000). */
  timeoutMs?: number;
}

/**
 * A node-vault client with what it lacks by default: a timeout, TLS files, and LIST sent as
 * `GET ?list=1` (some proxies and Node's own HTTP parser do not know the LIST verb). The token is set by
 * `VaultAuth`, never read from the environment here.
 */
export function createVaultClient(options: VaultClientOptions): VaultClient {
  return nodeVault({
    apiVersion: 'v1',
    endpoint: options.address.replace(/\/+$/, ''),
    token: '',
    noCustomHTTPVerbs: true,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    requestOptions: {
      timeout: options.timeoutMs ?? 10_000,
      ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}),
      ...(options.certFile ? { cert: readFileSync(options.certFile) } : {}),
      ...(options.keyFile ? { key: readFileSync(options.keyFile) } : {}),
    },
  });
}

/** The HTTP status of a node-vault rejection (it rejects every status but 200 and 204). */
export function statusOf(err: unknown): number | undefined {
  return (err as { response?: { statusCode?: number } }).response?.statusCode;
}

import { readFileSync } from 'node:fs';
import nodeVault from 'node-vault';
import { OutboundTransport } from '../../clients/transport.js';

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
 * A node-vault client with what it lacks by default: a timeout, TLS files, LIST sent as `GET ?list=1`
 * (some proxies and Node's own HTTP parser do not know the LIST verb), and its requests sent through the
 * shared `OutboundTransport` (node-vault's `request-promise` hook), so a network error reaches node-vault,
 * and whoever logs it, as a `TransportError` without the `X-Vault-Token` header. The token is set by
 * `VaultAuth`, never read from the environment here.
 */
export function createVaultClient(options: VaultClientOptions): VaultClient {
  const transport = new OutboundTransport({
    baseUrl: options.address,
    tls: {
      ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}),
      ...(options.certFile ? { cert: readFileSync(options.certFile) } : {}),
      ...(options.keyFile ? { key: readFileSync(options.keyFile) } : {}),
    },
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  return nodeVault({
    apiVersion: 'v1',
    endpoint: options.address.replace(/\/+$/, ''),
    token: '',
    noCustomHTTPVerbs: true,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    'request-promise': { defaults: () => vaultRequester(transport) },
  });
}

/** What node-vault hands its request function (the `request` library's options) and wants back. */
interface NodeVaultRequest {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
}

interface NodeVaultResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

/** node-vault's request function over the transport; node-vault turns a non-2xx into its own error. */
function vaultRequester(transport: OutboundTransport): (options: NodeVaultRequest) => Promise<NodeVaultResponse> {
  return async (options) => {
    const data = options.json && typeof options.json === 'object' ? options.json : undefined;
    const res = await transport.request({ method: options.method, url: options.uri, headers: { ...options.headers }, data });
    return { statusCode: res.status, body: res.data, request: { path: new URL(options.uri).pathname } };
  };
}

/** The HTTP status of a node-vault rejection (it rejects every status but 200 and 204). */
export function statusOf(err: unknown): number | undefined {
  return (err as { response?: { statusCode?: number } }).response?.statusCode;
}

import path from 'node:path';
import type { ConsulSettings, RawConfig, ServerConfig, VaultAuthSettings, VaultSettings } from './schema.js';

/**
 * The cluster settings (DESIGN.md "Modes"): each outside system is used when its address is set, and
 * combinations that cannot work are returned as problems, each naming the variables involved, so start-up
 * is refused with all of them at once.
 */
export function resolveCluster(raw: RawConfig, cwd: string): { cluster: ServerConfig['cluster']; problems: string[] } {
  const problems: string[] = [];
  const consul = resolveConsul(raw, cwd, problems);
  const vault = resolveVault(raw, cwd, problems);
  return {
    cluster: { nomadAddr: raw.nomad_addr, consulAddr: consul?.address, vaultAddr: raw.vault_addr, consul, vault },
    problems,
  };
}

function resolveConsul(raw: RawConfig, cwd: string, problems: string[]): ConsulSettings | undefined {
  const tlsSet = [raw.consul_cacert, raw.consul_client_cert, raw.consul_client_key].some(Boolean);
  if (!raw.consul_http_addr) {
    if (raw.consul_http_token || tlsSet) problems.push('CONSUL_HTTP_TOKEN/CONSUL_CACERT/CONSUL_CLIENT_*: set without CONSUL_HTTP_ADDR');
    return undefined;
  }
  const address = consulUrl(raw.consul_http_addr, raw.consul_http_ssl);
  if (!address) {
    problems.push(`CONSUL_HTTP_ADDR: expected a URL or host:port such as 127.0.0.1:8500 (got ${JSON.stringify(raw.consul_http_addr)})`);
    return undefined;
  }
  if (Boolean(raw.consul_client_cert) !== Boolean(raw.consul_client_key)) problems.push('CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY: set both or neither');
  if (tlsSet && address.startsWith('http:')) problems.push('CONSUL_CACERT/CONSUL_CLIENT_*: TLS files need an https CONSUL_HTTP_ADDR (or CONSUL_HTTP_SSL=true)');
  if (!raw.advertise_url && !raw.public_url && ['0.0.0.0', '::'].includes(raw.host)) {
    problems.push('GANTRY_ADVERTISE_URL: set it (or GANTRY_PUBLIC_URL) with CONSUL_HTTP_ADDR when GANTRY_HOST is 0.0.0.0 or ::, so the other replicas can forward to this one when it leads');
  }
  return {
    address,
    token: raw.consul_http_token,
    caFile: file(raw.consul_cacert, cwd),
    certFile: file(raw.consul_client_cert, cwd),
    keyFile: file(raw.consul_client_key, cwd),
    datacenter: raw.consul_datacenter,
    kvPrefix: raw.consul_kv_prefix,
    leaderTtlSeconds: raw.leader_ttl_seconds,
    leaderLockDelaySeconds: raw.leader_lock_delay_seconds,
  };
}

function resolveVault(raw: RawConfig, cwd: string, problems: string[]): VaultSettings | undefined {
  if (!raw.vault_addr) {
    if (raw.vault_token || raw.vault_role_id || raw.vault_secret_id) problems.push('VAULT_TOKEN/GANTRY_VAULT_ROLE_ID/GANTRY_VAULT_SECRET_ID: set without VAULT_ADDR');
    return undefined;
  }
  const auth = vaultAuth(raw, problems);
  if (Boolean(raw.vault_client_cert) !== Boolean(raw.vault_client_key)) problems.push('VAULT_CLIENT_CERT and VAULT_CLIENT_KEY: set both or neither');
  if (!auth) return undefined;
  return {
    address: raw.vault_addr.replace(/\/+$/, ''),
    auth,
    caFile: file(raw.vault_cacert, cwd),
    certFile: file(raw.vault_client_cert, cwd),
    keyFile: file(raw.vault_client_key, cwd),
    namespace: raw.vault_namespace,
    kvMount: raw.vault_kv_mount,
    prefix: raw.vault_prefix,
  };
}

function vaultAuth(raw: RawConfig, problems: string[]): VaultAuthSettings | undefined {
  const approle = Boolean(raw.vault_role_id) || Boolean(raw.vault_secret_id);
  if (approle && !(raw.vault_role_id && raw.vault_secret_id)) {
    problems.push('GANTRY_VAULT_ROLE_ID and GANTRY_VAULT_SECRET_ID: set both for AppRole');
    return undefined;
  }
  if (approle && raw.vault_token) {
    problems.push('VAULT_TOKEN and GANTRY_VAULT_ROLE_ID: choose one way to log in to Vault');
    return undefined;
  }
  if (approle) return { kind: 'approle', roleId: raw.vault_role_id!, secretId: raw.vault_secret_id!, mountPath: raw.vault_approle_mount };
  if (raw.vault_token) return { kind: 'token', token: raw.vault_token };
  problems.push('VAULT_ADDR: set VAULT_TOKEN, or GANTRY_VAULT_ROLE_ID and GANTRY_VAULT_SECRET_ID, to log in to Vault');
  return undefined;
}

/** `127.0.0.1:8500` → `http://127.0.0.1:8500` (https with CONSUL_HTTP_SSL); URLs pass through. */
function consulUrl(addr: string, ssl: boolean): string | undefined {
  const withScheme = /^[a-z]+:\/\//i.test(addr) ? addr : `${ssl ? 'https' : 'http'}://${addr}`;
  try {
    const url = new URL(withScheme);
    return url.protocol === 'http:' || url.protocol === 'https:' ? withScheme.replace(/\/+$/, '') : undefined;
  } catch {
    return undefined;
  }
}

function file(value: string | undefined, cwd: string): string | undefined {
  return value && path.resolve(cwd, value);
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { resolveCluster } from './cluster.js';
import {
  CONFIG_KEYS,
  envNameOf,
  rawConfigSchema,
  type RawConfig,
  type RawConfigKey,
  type NomadConfig,
  type ServerConfig,
  type TlsSettings,
} from './schema.js';

/** Start-up refused: every problem found, each naming the variable, file key or flag that set it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export interface LoadConfigOptions {
  env: NodeJS.ProcessEnv;
  /** Command-line values by config key; they win over everything else. */
  flags?: Partial<Record<RawConfigKey, string | number | boolean>>;
  /** A TOML file path (else `GANTRY_CONFIG`, else none). */
  configFile?: string;
  cwd?: string;
}

type Layer = Partial<Record<string, unknown>>;

/** Layers defaults < file < env < flags, validates once, and returns a frozen config. */
export function loadConfig(options: LoadConfigOptions): ServerConfig {
  const cwd = options.cwd ?? process.cwd();
  const origins = new Map<string, string>();
  const file = options.configFile ?? options.env.GANTRY_CONFIG;
  const merged: Layer = {
    ...(file ? readConfigFile(path.resolve(cwd, file), origins) : {}),
    ...fromEnv(options.env, origins),
    ...fromFlags(options.flags ?? {}, origins),
  };
  const parsed = rawConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => describeIssue(issue, origins, merged)));
  }
  return Object.freeze(resolveConfig(parsed.data, cwd));
}

function readConfigFile(file: string, origins: Map<string, string>): Layer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`config file ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`]);
  }
  let table: Record<string, unknown>;
  try {
    table = parseToml(text);
  } catch (err) {
    const where = err instanceof TomlError ? `:${err.line}:${err.column}` : '';
    throw new ConfigError([`${file}${where}: ${(err as Error).message.split('\n')[0]}`]);
  }
  for (const key of Object.keys(table)) origins.set(key, `${file} (key "${key}")`);
  return table;
}

function fromEnv(env: NodeJS.ProcessEnv, origins: Map<string, string>): Layer {
  const layer: Layer = {};
  for (const key of CONFIG_KEYS) {
    const value = env[envNameOf(key)];
    if (value === undefined || value === '') continue;
    layer[key] = value;
    origins.set(key, `environment variable ${envNameOf(key)}`);
  }
  return layer;
}

function fromFlags(flags: Layer, origins: Map<string, string>): Layer {
  const layer: Layer = {};
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    layer[key] = value;
    origins.set(key, `flag --${key.replaceAll('_', '-')}`);
  }
  return layer;
}

function describeIssue(issue: z.core.$ZodIssue, origins: Map<string, string>, merged: Layer): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${origins.get(k) ?? k}: unknown setting`).join('; ');
  }
  const key = String(issue.path[0] ?? '');
  const where = origins.get(key) ?? `setting ${key}`;
  const got = key in merged ? ` (got ${JSON.stringify(redactIfSecret(key, merged[key]))})` : '';
  return `${where}: ${issue.message}${got}`;
}

const SECRET_KEYS = new Set(['admin_key', 'consul_http_token', 'vault_token', 'vault_secret_id', 'nomad_token']);

function redactIfSecret(key: string, value: unknown): unknown {
  return SECRET_KEYS.has(key) ? '<redacted>' : value;
}

function resolveConfig(raw: RawConfig, cwd: string): ServerConfig {
  const { cluster, problems } = resolveCluster(raw, cwd);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    dataDir: path.resolve(cwd, raw.data_dir),
    host: raw.host,
    port: raw.port,
    adminKey: raw.admin_key,
    tls: resolveTls(raw, cwd),
    publicUrl: raw.public_url?.replace(/\/+$/, ''),
    advertiseUrl: raw.advertise_url?.replace(/\/+$/, ''),
    logLevel: raw.log_level,
    registry: raw.registry
      ? { basePath: stripScheme(raw.registry), loginWithApiKey: raw.registry_login_with_api_key }
      : undefined,
    metricsRequireKey: raw.metrics_require_key,
    maxPayloadBytes: raw.max_payload_bytes,
    maxUploadBytes: raw.max_upload_bytes,
    maxOutputBytes: raw.max_output_bytes,
    requestTimeouts: {
      headersMs: raw.request_headers_timeout_seconds * 1000,
      bodyIdleMs: raw.request_body_idle_seconds * 1000,
      requestMs: Math.max(raw.request_timeout_seconds, raw.request_headers_timeout_seconds) * 1000,
      keepAliveMs: raw.keep_alive_timeout_seconds * 1000,
    },
    jobRetentionHours: raw.job_retention_hours,
    claimCeilingHours: raw.claim_ceiling_hours,
    signedUrlTtlSeconds: raw.signed_url_ttl_seconds,
    autoscaler: { stabilizationSeconds: raw.autoscaler_stabilization_seconds, intervalMs: raw.autoscaler_interval_ms },
    projectName: raw.project_name,
    cluster,
    nomad: resolveNomad(raw, cwd),
    gpuTypes: raw.gpu_types,
    sourceRoots: raw.source_roots.map((r) => path.resolve(cwd, r)),
    sandbox: { mode: raw.sandbox, uids: raw.sandbox_uids },
  };
}

function resolveNomad(raw: RawConfig, cwd: string): NomadConfig {
  if (Boolean(raw.nomad_client_cert) !== Boolean(raw.nomad_client_key)) {
    throw new ConfigError(['NOMAD_CLIENT_CERT and NOMAD_CLIENT_KEY: set both or neither']);
  }
  const file = (f: string | undefined) => (f ? path.resolve(cwd, f) : undefined);
  return {
    token: raw.nomad_token,
    namespace: raw.nomad_namespace,
    region: raw.nomad_region,
    caCertFile: file(raw.nomad_cacert),
    clientCertFile: file(raw.nomad_client_cert),
    clientKeyFile: file(raw.nomad_client_key),
    datacenters: raw.nomad_datacenters,
    nodePool: raw.nomad_node_pool,
    constraints: raw.nomad_constraints,
    vaultRole: raw.nomad_vault_role,
    imagePullTimeoutSeconds: raw.nomad_image_pull_timeout_seconds,
    healthyDeadlineSeconds: raw.nomad_healthy_deadline_seconds,
    progressDeadlineSeconds: raw.nomad_progress_deadline_seconds,
  };
}

function resolveTls(raw: RawConfig, cwd: string): TlsSettings {
  const problems: string[] = [];
  if (raw.insecure_http && (raw.tls_cert || raw.tls_key)) {
    problems.push('GANTRY_INSECURE_HTTP: cannot be combined with GANTRY_TLS_CERT/GANTRY_TLS_KEY');
  }
  if (Boolean(raw.tls_cert) !== Boolean(raw.tls_key)) {
    problems.push('GANTRY_TLS_CERT and GANTRY_TLS_KEY: set both or neither');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (raw.insecure_http) return { mode: 'http' };
  if (raw.tls_cert && raw.tls_key) {
    return { mode: 'provided', certFile: path.resolve(cwd, raw.tls_cert), keyFile: path.resolve(cwd, raw.tls_key) };
  }
  return { mode: 'local-ca' };
}

/** `https://registry.example.com/team` → `registry.example.com/team` (compat.md §8.9). */
function stripScheme(basePath: string): string {
  return basePath.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
}

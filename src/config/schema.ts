import { z } from 'zod';

/**
 * Every server setting, by its TOML key. The environment variable of a key is `GANTRY_<KEY>` in upper
 * case (`data_dir` ↔ `GANTRY_DATA_DIR`); the outside systems keep their standard variable names
 * (`NOMAD_ADDR`, `CONSUL_HTTP_ADDR`, `VAULT_ADDR`). Values from the environment arrive as strings, so
 * numbers and booleans are coerced here, once.
 */

const boolish = z.union([
  z.boolean(),
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((s) => ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', ''].includes(s), {
      message: 'expected a boolean (1/0, true/false, yes/no)',
    })
    .transform((s) => ['1', 'true', 'yes', 'on'].includes(s)),
]);

const int = (min: number, max: number) =>
  z.coerce
    .number({ error: 'expected a number' })
    .int({ message: 'expected an integer' })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` });

/** A value the environment gives as JSON text and a TOML file as a table or array. */
const jsonish = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return Symbol.for('invalid JSON');
    }
  }, schema);

/** A list the environment gives comma-separated (`dc1,dc2`) and a TOML file as an array. */
const stringList = z.preprocess(
  (value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value),
  z.array(z.string().min(1)).min(1, { message: 'expected at least one name' }),
);

const nomadConstraint = z
  .object({ attribute: z.string().min(1), operator: z.string().min(1).default('='), value: z.string().default('') })
  .strict();

const gpuTypeOptions = z
  .object({
    model: z.string().min(1),
    memory_mib: z.number().int().positive().optional(),
    mig_profile: z.string().min(1).optional(),
  })
  .strict();

/** Absolute paths the environment gives separated by ":" (like PATH) and a TOML file as an array. */
const pathList = z.preprocess(
  (value) => (typeof value === 'string' ? value.split(':').map((s) => s.trim()).filter(Boolean) : value),
  z.array(z.string().regex(/^\//, { message: 'expected absolute paths' })),
);

/** An inclusive id range `FIRST-LAST`. */
const idRange = z
  .string()
  .trim()
  .regex(/^\d+-\d+$/, { message: 'expected FIRST-LAST, like 200000-299999' })
  .transform((s) => s.split('-').map(Number) as [number, number])
  .refine(([first, last]) => first >= 1000 && last >= first && last < 2 ** 31, {
    message: 'expected 1000 <= FIRST <= LAST < 2147483648',
  });

const url = z.url({ message: 'expected an absolute URL such as https://gantry.example.com:8443' });

export const rawConfigSchema = z
  .object({
    /** Where state, keys, certificates and files live (default: ./.gantry). */
    data_dir: z.string().min(1).default('./.gantry'),
    /** Address to listen on (default: 127.0.0.1). */
    host: z.string().min(1).default('127.0.0.1'),
    /** Port to listen on (default: 8443). */
    port: int(0, 65535).default(8443),
    /** Use this admin key instead of generating one (default: generated on first start). */
    admin_key: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
    /** PEM certificate file to serve HTTPS with (default: the local CA's server certificate). */
    tls_cert: z.string().min(1).optional(),
    /** PEM private key file for tls_cert. */
    tls_key: z.string().min(1).optional(),
    /** Serve plain HTTP. Only ever explicit (default: false). */
    insecure_http: boolish.default(false),
    /** The URL workers are told to use (default: the URL the server listens on). */
    public_url: url.optional(),
    /**
     * The URL other control-plane replicas reach this one at, forwarding to it while it leads; with several
     * replicas behind one public URL, set it per replica (default: public_url, else the listen URL).
     */
    advertise_url: url.optional(),
    /** pino log level (default: info). */
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Container registry base path, `<host>/<namespace>` (default: none configured). */
    registry: z.string().min(1).optional(),
    /** Whether the registry accepts Gantry API keys for `docker login` (default: false). */
    registry_login_with_api_key: boolish.default(false),
    /** Require an API key on /metrics (default: false). */
    metrics_require_key: boolish.default(false),
    /** Largest queue payload JSON in bytes (default: 1048576). */
    max_payload_bytes: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
    /** Largest single file upload in bytes (default: 5 GiB). */
    max_upload_bytes: int(1, Number.MAX_SAFE_INTEGER).default(5 * 1024 ** 3),
    /** Longest time a client may take to send a request's headers, in seconds (default: 30). */
    request_headers_timeout_seconds: int(1, 3600).default(30),
    /** Longest pause while a request body arrives, in seconds; a stalled upload is cut after it (default: 60). */
    request_body_idle_seconds: int(1, 3600).default(60),
    /** Longest time to receive a whole request, body included, in seconds; not the answer (default: 3600). */
    request_timeout_seconds: int(1, 7 * 24 * 3600).default(3600),
    /** How long an idle keep-alive connection stays open between requests, in seconds (default: 72). */
    keep_alive_timeout_seconds: int(1, 3600).default(72),
    /** Largest outputs JSON a worker may report, in bytes (default: 32 MiB). */
    max_output_bytes: int(1024, 1024 ** 3).default(32 * 1024 * 1024),
    /** How long finished jobs are kept, in hours (default: 168, 7 days). */
    job_retention_hours: int(1, 24 * 365).default(168),
    /** Longest a replica-bound claim lasts without news, in hours (default: 24). */
    claim_ceiling_hours: int(1, 24 * 30).default(24),
    /** Lifetime of signed storage URLs in seconds (default: 3600). */
    signed_url_ttl_seconds: int(10, 7 * 24 * 3600).default(3600),
    /** How long the autoscaler waits before a scale-down, in seconds (compat.md §8.16; default: 60). */
    autoscaler_stabilization_seconds: int(0, 24 * 3600).default(60),
    /** How often the autoscaler evaluates every deployment besides queue events, in ms (default: 1000). */
    autoscaler_interval_ms: int(50, 1000).default(1000),
    /** Name of the single project this server serves (default: default). */
    project_name: z.string().min(1).max(100).default('default'),
    nomad_addr: url.optional(),
    /** Consul agent: a URL, or `host:port` as the Consul CLI takes it (scheme from consul_http_ssl). */
    consul_http_addr: z.string().trim().min(1).optional(),
    /** Consul ACL token (default: none, the agent's default token). */
    consul_http_token: z.string().min(1).optional(),
    /** `https` for a `host:port` Consul address (default: false). */
    consul_http_ssl: boolish.default(false),
    /** PEM CA file that signs the Consul agent's certificate (default: the system's CAs). */
    consul_cacert: z.string().min(1).optional(),
    /** PEM client certificate and key for Consul mTLS (default: none). */
    consul_client_cert: z.string().min(1).optional(),
    consul_client_key: z.string().min(1).optional(),
    /** Consul datacenter for every call (default: the agent's). */
    consul_datacenter: z.string().min(1).optional(),
    /** Where Gantry's keys live in Consul KV (default: gantry/). */
    consul_kv_prefix: z
      .string()
      .regex(/^([A-Za-z0-9\-_]+\/)+$/, { message: 'expected path segments of A-Z a-z 0-9 - _ ending in "/", like gantry/' })
      .default('gantry/'),
    /** Leader-election session TTL in seconds; Consul accepts 10–86400 (default: 15). */
    leader_ttl_seconds: int(10, 86_400).default(15),
    /** Seconds nobody may take the leader lock after the leader's session ends, 0–60 (default: 5). */
    leader_lock_delay_seconds: int(0, 60).default(5),
    /** Nomad ACL token (NOMAD_TOKEN; default: none). Never logged. */
    nomad_token: z.string().min(1).optional(),
    /** Nomad namespace of the worker jobs (NOMAD_NAMESPACE; default: default). */
    nomad_namespace: z.string().min(1).default('default'),
    /** Nomad region (NOMAD_REGION; default: the agent's, `global`). */
    nomad_region: z.string().min(1).optional(),
    /** PEM CA file to verify Nomad's TLS certificate (NOMAD_CACERT). */
    nomad_cacert: z.string().min(1).optional(),
    /** PEM client certificate and key files for Nomad's mutual TLS (NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY). */
    nomad_client_cert: z.string().min(1).optional(),
    nomad_client_key: z.string().min(1).optional(),
    /** Datacenters worker jobs may run in, comma-separated (default: *, all). */
    nomad_datacenters: stringList.default(['*']),
    /** Node pool of worker jobs (default: none, Nomad's default pool). */
    nomad_node_pool: z.string().min(1).optional(),
    /** Constraints added to every worker job: `[{attribute, operator, value}]` (JSON in the environment). */
    nomad_constraints: jsonish(z.array(nomadConstraint)).default([]),
    /** Vault role of the worker jobs' workload identity (default: the auth method's default role). */
    nomad_vault_role: z.string().min(1).optional(),
    /** Docker image pull timeout of worker jobs, in seconds (default: 1800). */
    nomad_image_pull_timeout_seconds: int(60, 24 * 3600).default(1800),
    /** Rollout healthy deadline in seconds: how long a new replica may take to start (default: 3600). */
    nomad_healthy_deadline_seconds: int(30, 24 * 3600).default(3600),
    /** Rollout progress deadline in seconds; at least the healthy deadline plus a minute (default: 7200). */
    nomad_progress_deadline_seconds: int(60, 48 * 3600).default(7200),
    /** Operator GPU types: `{ "<name>": { model, memory_mib?, mig_profile? } }` (JSON in the environment). */
    gpu_types: jsonish(z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, { message: 'GPU type names are lowercase letters, digits, ".", "_" and "-"' }), gpuTypeOptions)).default({}),
    /** Directories under which user keys may name local project directories, x_gantry_source (default: none). */
    source_roots: pathList.default([]),
    /** How local replicas are isolated: `bwrap` (required) or `none`, an explicit opt-out (default: bwrap). */
    sandbox: z.enum(['bwrap', 'none']).default('bwrap'),
    /** When the server runs as root, the uids replicas run as, one per deployment (default: 200000-299999). */
    sandbox_uids: idRange.default([200_000, 299_999]),
    vault_addr: url.optional(),
    /** Vault token (default: none; then AppRole must be set). */
    vault_token: z.string().min(1).optional(),
    /** AppRole role id and secret id, an alternative to vault_token (default: none). */
    vault_role_id: z.string().min(1).optional(),
    vault_secret_id: z.string().min(1).optional(),
    /** Where the AppRole auth method is mounted (default: approle). */
    vault_approle_mount: z.string().regex(/^[A-Za-z0-9\-_/]+$/).default('approle'),
    /** PEM CA file that signs Vault's certificate (default: the system's CAs). */
    vault_cacert: z.string().min(1).optional(),
    /** PEM client certificate and key for Vault mTLS (default: none). */
    vault_client_cert: z.string().min(1).optional(),
    vault_client_key: z.string().min(1).optional(),
    /** Vault Enterprise namespace (default: none). */
    vault_namespace: z.string().min(1).optional(),
    /** Mount of the KV v2 engine (default: secret, as `vault server -dev` and Nomad's workload policy use). */
    vault_kv_mount: z.string().regex(/^[A-Za-z0-9\-_]+(\/[A-Za-z0-9\-_]+)*$/, { message: 'expected a mount path like secret' }).default('secret'),
    /** Path under the mount for the Secrets API's values (default: gantry). */
    vault_prefix: z.string().regex(/^[A-Za-z0-9\-_]+(\/[A-Za-z0-9\-_]+)*$/, { message: 'expected path segments like gantry' }).default('gantry'),
  })
  .strict();

export type RawConfig = z.infer<typeof rawConfigSchema>;
export type RawConfigKey = keyof RawConfig;

/** The environment variable that sets each key. */
export function envNameOf(key: RawConfigKey): string {
  const standard: Partial<Record<RawConfigKey, string>> = {
    nomad_addr: 'NOMAD_ADDR',
    nomad_token: 'NOMAD_TOKEN',
    nomad_namespace: 'NOMAD_NAMESPACE',
    nomad_region: 'NOMAD_REGION',
    nomad_cacert: 'NOMAD_CACERT',
    nomad_client_cert: 'NOMAD_CLIENT_CERT',
    nomad_client_key: 'NOMAD_CLIENT_KEY',
    consul_http_addr: 'CONSUL_HTTP_ADDR',
    consul_http_token: 'CONSUL_HTTP_TOKEN',
    consul_http_ssl: 'CONSUL_HTTP_SSL',
    consul_cacert: 'CONSUL_CACERT',
    consul_client_cert: 'CONSUL_CLIENT_CERT',
    consul_client_key: 'CONSUL_CLIENT_KEY',
    vault_addr: 'VAULT_ADDR',
    vault_token: 'VAULT_TOKEN',
    vault_cacert: 'VAULT_CACERT',
    vault_client_cert: 'VAULT_CLIENT_CERT',
    vault_client_key: 'VAULT_CLIENT_KEY',
    vault_namespace: 'VAULT_NAMESPACE',
  };
  return standard[key] ?? `GANTRY_${key.toUpperCase()}`;
}

export const CONFIG_KEYS = Object.keys(rawConfigSchema.shape) as RawConfigKey[];

export type TlsSettings =
  | { mode: 'local-ca' }
  | { mode: 'provided'; certFile: string; keyFile: string }
  | { mode: 'http' };

/** The validated, defaulted, frozen configuration the server is built from. */
export interface ServerConfig {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly adminKey: string | undefined;
  readonly tls: TlsSettings;
  readonly publicUrl: string | undefined;
  /** Where followers forward to this replica while it leads (GANTRY_ADVERTISE_URL; else the public URL). */
  readonly advertiseUrl: string | undefined;
  readonly logLevel: RawConfig['log_level'];
  readonly registry: { readonly basePath: string; readonly loginWithApiKey: boolean } | undefined;
  readonly metricsRequireKey: boolean;
  readonly maxPayloadBytes: number;
  readonly maxUploadBytes: number;
  readonly maxOutputBytes: number;
  /** How long a client may take to send a request (not to read its answer: long polls and log follows stay open). */
  readonly requestTimeouts: { readonly headersMs: number; readonly bodyIdleMs: number; readonly requestMs: number; readonly keepAliveMs: number };
  readonly jobRetentionHours: number;
  readonly claimCeilingHours: number;
  readonly signedUrlTtlSeconds: number;
  readonly autoscaler: { readonly stabilizationSeconds: number; readonly intervalMs: number };
  readonly projectName: string;
  readonly cluster: {
    readonly nomadAddr: string | undefined;
    /** The Consul agent's URL (scheme included). */
    readonly consulAddr: string | undefined;
    readonly vaultAddr: string | undefined;
    /** Set when CONSUL_HTTP_ADDR is: the state store (and coordinator) run on Consul. */
    readonly consul: ConsulSettings | undefined;
    /** Set when VAULT_ADDR is: secrets live in Vault. */
    readonly vault: VaultSettings | undefined;
  };
  /** How to reach Nomad and what every worker job gets from the cluster (used when `cluster.nomadAddr` is set). */
  readonly nomad: NomadConfig;
  /** Roots under which user keys may name local project directories (GANTRY_SOURCE_ROOTS). */
  readonly sourceRoots: readonly string[];
  /** Isolation of local replicas (GANTRY_SANDBOX, GANTRY_SANDBOX_UIDS). */
  readonly sandbox: { readonly mode: 'bwrap' | 'none'; readonly uids: readonly [number, number] };
  /** Operator GPU types added to the built-in catalog (compat.md §8.10). */
  readonly gpuTypes: Readonly<Record<string, z.infer<typeof gpuTypeOptions>>>;
}

export interface NomadConfig {
  readonly token: string | undefined;
  readonly namespace: string;
  readonly region: string | undefined;
  readonly caCertFile: string | undefined;
  readonly clientCertFile: string | undefined;
  readonly clientKeyFile: string | undefined;
  readonly datacenters: readonly string[];
  readonly nodePool: string | undefined;
  readonly constraints: ReadonlyArray<{ readonly attribute: string; readonly operator: string; readonly value: string }>;
  readonly vaultRole: string | undefined;
  readonly imagePullTimeoutSeconds: number;
  readonly healthyDeadlineSeconds: number;
  readonly progressDeadlineSeconds: number;
}

export interface ConsulSettings {
  readonly address: string;
  readonly token: string | undefined;
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly datacenter: string | undefined;
  readonly kvPrefix: string;
  readonly leaderTtlSeconds: number;
  readonly leaderLockDelaySeconds: number;
}

export type VaultAuthSettings =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'approle'; readonly roleId: string; readonly secretId: string; readonly mountPath: string };

export interface VaultSettings {
  readonly address: string;
  readonly auth: VaultAuthSettings;
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly namespace: string | undefined;
  readonly kvMount: string;
  readonly prefix: string;
}

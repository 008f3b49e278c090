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
    /** Largest outputs JSON a worker may report, in bytes (default: 32 MiB). */
    max_output_bytes: int(1024, 1024 ** 3).default(32 * 1024 * 1024),
    /** How long finished jobs are kept, in hours (default: 168, 7 days). */
    job_retention_hours: int(1, 24 * 365).default(168),
    /** Longest a replica-bound claim lasts without news, in hours (default: 24). */
    claim_ceiling_hours: int(1, 24 * 30).default(24),
    /** Lifetime of signed storage URLs in seconds (default: 3600). */
    signed_url_ttl_seconds: int(10, 7 * 24 * 3600).default(3600),
    /** Name of the single project this server serves (default: default). */
    project_name: z.string().min(1).max(100).default('default'),
    nomad_addr: url.optional(),
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
    consul_http_addr: url.optional(),
    vault_addr: url.optional(),
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
    vault_addr: 'VAULT_ADDR',
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
  readonly logLevel: RawConfig['log_level'];
  readonly registry: { readonly basePath: string; readonly loginWithApiKey: boolean } | undefined;
  readonly metricsRequireKey: boolean;
  readonly maxPayloadBytes: number;
  readonly maxUploadBytes: number;
  readonly maxOutputBytes: number;
  readonly jobRetentionHours: number;
  readonly claimCeilingHours: number;
  readonly signedUrlTtlSeconds: number;
  readonly projectName: string;
  readonly cluster: {
    readonly nomadAddr: string | undefined;
    readonly consulAddr: string | undefined;
    readonly vaultAddr: string | undefined;
  };
  /** How to reach Nomad and what every worker job gets from the cluster (used when `cluster.nomadAddr` is set). */
  readonly nomad: NomadConfig;
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

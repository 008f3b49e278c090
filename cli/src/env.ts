/**
 * The CLI's environment, read in one place (compat.md §1.1). Flags (`--api-key`, `--base-url`) win over
 * the environment.
 */
export interface CliEnv {
  /** TOGETHER_API_KEY (or --api-key); required by every command that talks to the API. */
  apiKey: string | undefined;
  /** TOGETHER_BASE_URL, else GANTRY_URL, else the embedded default's address (default: https://127.0.0.1:8443/v1). */
  baseUrl: string;
  /** SSL_CERT_FILE: a CA bundle to trust instead of the system's, as Python's clients read it. */
  sslCertFile: string | undefined;
  /** TOGETHER_DEBUG starting with y, 1 or t: dump the deploy body, show stack traces. */
  debug: boolean;
  /** GANTRY_DATA_DIR: where a local server keeps its CA (default: ./.gantry, searched upwards). */
  dataDir: string | undefined;
  /** TOGETHER_UPLOAD_CONCURRENCY (default: 15). */
  uploadConcurrency: number;
  /** TOGETHER_MULTIPART_CHUNK_SIZE_MB in bytes (default: 20 MiB). */
  multipartChunkBytes: number;
  /** TOGETHER_MULTIPART_THRESHOLD_MB in bytes (default: 100 MiB). */
  multipartThresholdBytes: number;
  /** DOCKER_BUILD_EXTRA_ARGS, used when --docker-args is absent. */
  dockerBuildExtraArgs: string;
  /** WARMUP_ENV_NAME (default: TORCHINDUCTOR_CACHE_DIR). */
  warmupEnvName: string;
  /** WARMUP_DEST (default: torch_cache). */
  warmupDest: string;
  /** MODEL_PRELOAD_PATH: an extra bind mount for warmup. */
  modelPreloadPath: string | undefined;
}

export const DEFAULT_BASE_URL = 'https://127.0.0.1:8443/v1';
const MIB = 1024 * 1024;

export function readEnv(env: NodeJS.ProcessEnv, flags: { apiKey?: string; baseUrl?: string } = {}): CliEnv {
  return {
    apiKey: flags.apiKey || env.TOGETHER_API_KEY || undefined,
    baseUrl: apiBase(flags.baseUrl || env.TOGETHER_BASE_URL || env.GANTRY_URL || DEFAULT_BASE_URL),
    sslCertFile: env.SSL_CERT_FILE || undefined,
    debug: isDebug(env.TOGETHER_DEBUG),
    dataDir: env.GANTRY_DATA_DIR || undefined,
    uploadConcurrency: positive(env.TOGETHER_UPLOAD_CONCURRENCY, 15),
    multipartChunkBytes: positive(env.TOGETHER_MULTIPART_CHUNK_SIZE_MB, 20) * MIB,
    multipartThresholdBytes: positive(env.TOGETHER_MULTIPART_THRESHOLD_MB, 100) * MIB,
    dockerBuildExtraArgs: env.DOCKER_BUILD_EXTRA_ARGS ?? '',
    warmupEnvName: env.WARMUP_ENV_NAME || 'TORCHINDUCTOR_CACHE_DIR',
    warmupDest: env.WARMUP_DEST || 'torch_cache',
    modelPreloadPath: env.MODEL_PRELOAD_PATH || undefined,
  };
}

/**
 * The API base the CLI appends `/deployments`, `/queue/...` to. A bare origin gets `/v1`: the vendor's
 * newest clients take TOGETHER_BASE_URL without it (they put `/v1` in every path), older ones with it.
 */
export function apiBase(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return /^[a-z]+:\/\/[^/]+$/i.test(trimmed) ? `${trimmed}/v1` : trimmed;
}

export function isDebug(value: string | undefined): boolean {
  return ['y', '1', 't'].includes((value ?? '').trim().slice(0, 1).toLowerCase());
}

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value && Number.isFinite(n) && n > 0 ? n : fallback;
}

import type { JobSpec } from '../scheduler.js';

/**
 * The environment of a local replica. Pure, so the layering is table-tested.
 *
 * The server's own environment may hold secrets (cluster tokens, the admin key), so a replica never
 * inherits it: it gets only the few variables a program needs to find its tools and locale (below), then
 * the deployment's plain variables, then its secrets, then what the platform decides for this replica
 * (worker token, port, GPUs, CA, virtualenv), which wins over anything the deployment supplied (§8.14).
 */
export const BASE_ENV_KEYS = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
  // CUDA libraries are often found through these on GPU machines.
  'LD_LIBRARY_PATH',
  'CUDA_HOME',
  'CUDA_PATH',
] as const;

export interface ReplicaEnvInput {
  /** The environment to pick BASE_ENV_KEYS from (the server's). */
  base: Record<string, string | undefined>;
  spec: Pick<JobSpec, 'env' | 'secretEnv'>;
  /** The replica's worker token, given as TOGETHER_API_KEY. */
  token: string;
  port: number;
  /** GPU indices for CUDA_VISIBLE_DEVICES ("" hides every GPU). */
  gpus: number[];
  /** Gantry's CA certificate, so workers trust its HTTPS (§8.22). */
  caFile: string | undefined;
  /** Fallback for TOGETHER_API_BASE_URL when the spec has none (it normally does, §8.14). */
  publicUrl: string | undefined;
  /** The virtualenv of a Python project. */
  venvDir: string | undefined;
  /**
   * This replica's own directory for Sprocket's shutdown marker files (`SPROCKET_MARKER_DIR`). The
   * replicas of a deployment share the project directory as their working directory, where Sprocket
   * would otherwise put them, so one replica stopping would make the others stop claiming jobs.
   */
  markerDir?: string;
  /**
   * The replica's own writable scratch directory when it runs in the sandbox: its HOME (caches go there),
   * with TMPDIR its private /tmp. The server's HOME and TMPDIR are not visible to it.
   */
  home?: string;
}

export function buildReplicaEnv(input: ReplicaEnvInput): Record<string, string> {
  const env: Record<string, string> = { PYTHONUNBUFFERED: '1' };
  for (const key of BASE_ENV_KEYS) {
    const value = input.base[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, input.spec.env, input.spec.secretEnv);
  if (input.publicUrl) env.TOGETHER_API_BASE_URL ??= input.publicUrl;
  Object.assign(env, platformEnv(input, env.PATH));
  return env;
}

function platformEnv(input: ReplicaEnvInput, path: string | undefined): Record<string, string> {
  const env: Record<string, string> = {
    TOGETHER_API_KEY: input.token,
    PORT: String(input.port),
    CUDA_VISIBLE_DEVICES: input.gpus.join(','),
  };
  if (input.caFile) {
    // Python's ssl and requests read the first two; Node (the TypeScript SDK) reads the third.
    const ca = input.caFile;
    Object.assign(env, { SSL_CERT_FILE: ca, REQUESTS_CA_BUNDLE: ca, NODE_EXTRA_CA_CERTS: ca });
  }
  if (input.markerDir) env.SPROCKET_MARKER_DIR = input.markerDir;
  if (input.home) Object.assign(env, { HOME: input.home, TMPDIR: '/tmp' });
  if (input.venvDir) {
    env.VIRTUAL_ENV = input.venvDir;
    env.PATH = path ? `${input.venvDir}/bin:${path}` : `${input.venvDir}/bin`;
  }
  return env;
}

/** `python`/`python3` as the command runs the virtualenv's interpreter; anything else is found on PATH. */
export function replicaArgv(cmd: string[], venvDir: string | undefined): string[] {
  const [first, ...rest] = cmd;
  if (venvDir && (first === 'python' || first === 'python3')) return [`${venvDir}/bin/python`, ...rest];
  return cmd;
}

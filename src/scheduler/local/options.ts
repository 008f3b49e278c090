import { assertEncryptionKey } from '../../secrets/local/seal.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { WorkerTokens } from '../scheduler.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from './backoff.js';
import { probeNvidiaSmi, type Gpu } from './gpus.js';
import type { SandboxMode } from './sandbox.js';

export interface LocalSchedulerOptions {
  /** Gantry's data directory: replicas under `<dataDir>/replicas/`, venvs under `<dataDir>/venvs/`. */
  dataDir: string;
  /** Issues each replica's TOGETHER_API_KEY and revokes it when the replica is gone. */
  tokens: WorkerTokens;
  clock: Clock;
  logger: Logger;
  /** Gantry's CA certificate, exported as SSL_CERT_FILE, REQUESTS_CA_BUNDLE and NODE_EXTRA_CA_CERTS (default: none). */
  caFile?: string;
  /** Gantry's URL as replicas see it, for a spec without TOGETHER_API_BASE_URL (default: none; specs carry it). */
  publicUrl?: string;
  /** Lists the machine's GPUs (default: nvidia-smi; none without it). */
  gpuProbe?: () => Promise<Gpu[]>;
  /** Interpreter that makes virtualenvs (default: 'python3'). */
  pythonBin?: string;
  /** Whether replicas run in a bubblewrap sandbox, sandbox.ts (default: 'bwrap'; 'none' is the opt-out). */
  sandbox?: SandboxMode;
  /** When the server runs as root, the uids replicas run as, `[first, last]` (default: [200000, 299999]). */
  sandboxUids?: readonly [number, number];
  /** Package index for `pip install` (default: pip's own setting). */
  pipIndexUrl?: string;
  /** Installed into every virtualenv, e.g. the path of Gantry's sprocket wheel (default: []). */
  extraPythonPackages?: string[];
  /** Gantry's own `sprocket` (wheel or directory), installed for projects that require `sprocket` (§8.30). */
  sprocketPackage?: string;
  /** How often replicas are health-checked, and adopted ones checked for life (default: 1000). */
  healthIntervalMs?: number;
  /**
   * How long a replica that was ready may answer its health check with a status other than 200 before it
   * is replaced (SIGTERM, then a restart as after an exit); a worker whose queue loop stopped answers 503
   * for good. Timeouts (a busy synchronous worker) never count. Default: 30000.
   */
  unhealthyReplaceMs?: number;
  /** Restart backoff and crash-loop rule (default: 1 s doubling to 60 s, reset after 10 min; 3 exits in 10 min). */
  restartPolicy?: Partial<RestartPolicy>;
  /** Longest wait for replicas to end on close() before SIGKILL (default: 10000). */
  closeGraceMs?: number;
  /** Size at which a replica's output.log is rotated (default: 8 MiB). */
  logCapBytes?: number;
  /** The server's environment; only PATH, HOME, locale and CUDA paths reach replicas (default: process.env). */
  baseEnv?: Record<string, string | undefined>;
  /**
   * 32-byte AES-256-GCM key that seals the secret values (`secretEnv`) in the state files (default: none,
   * written plain). Gantry passes the secret store's key. A file it cannot unseal is skipped as unreadable.
   */
  sealKey?: Buffer;
}

export interface ResolvedLocalSchedulerOptions {
  dataDir: string;
  tokens: WorkerTokens;
  clock: Clock;
  logger: Logger;
  caFile: string | undefined;
  publicUrl: string | undefined;
  gpuProbe: () => Promise<Gpu[]>;
  pythonBin: string;
  sandbox: SandboxMode;
  sandboxUids: readonly [number, number];
  pipIndexUrl: string | undefined;
  extraPythonPackages: string[];
  sprocketPackage: string | undefined;
  healthIntervalMs: number;
  /** A health check waits this long for an answer. */
  healthTimeoutMs: number;
  /** Without a health path, a replica is ready after running this long. */
  readyWithoutCheckMs: number;
  unhealthyReplaceMs: number;
  restartPolicy: RestartPolicy;
  closeGraceMs: number;
  logCapBytes: number;
  baseEnv: Record<string, string | undefined>;
  sealKey: Buffer | undefined;
}

export function resolveOptions(options: LocalSchedulerOptions): ResolvedLocalSchedulerOptions {
  if (options.sealKey) assertEncryptionKey(options.sealKey);
  const healthIntervalMs = options.healthIntervalMs ?? 1000;
  return {
    ...options,
    caFile: options.caFile,
    publicUrl: options.publicUrl,
    gpuProbe: options.gpuProbe ?? probeNvidiaSmi,
    pythonBin: options.pythonBin ?? 'python3',
    sandbox: options.sandbox ?? 'bwrap',
    sandboxUids: options.sandboxUids ?? [200_000, 299_999],
    pipIndexUrl: options.pipIndexUrl,
    extraPythonPackages: options.extraPythonPackages ?? [],
    sprocketPackage: options.sprocketPackage,
    healthIntervalMs,
    healthTimeoutMs: Math.min(2000, Math.max(250, healthIntervalMs)),
    readyWithoutCheckMs: 1000,
    unhealthyReplaceMs: options.unhealthyReplaceMs ?? 30_000,
    restartPolicy: { ...DEFAULT_RESTART_POLICY, ...options.restartPolicy },
    closeGraceMs: options.closeGraceMs ?? 10_000,
    logCapBytes: options.logCapBytes ?? 8 * 1024 * 1024,
    baseEnv: options.baseEnv ?? process.env,
    sealKey: options.sealKey,
  };
}

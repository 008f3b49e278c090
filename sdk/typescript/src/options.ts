import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { SprocketConfigError } from './errors.js';

/** What `run(worker, options)` accepts. */
export interface RunOptions {
  /** The queue (deployment) name (default: $TOGETHER_DEPLOYMENT_NAME). */
  name?: string;
  /** The HTTP route of direct predicts; not /health or /metrics (default: "/generate"). */
  predictPath?: string;
  /** Process arguments to parse (default: process.argv.slice(2)). */
  argv?: string[];
  /** The environment to read (default: process.env). */
  env?: Record<string, string | undefined>;
}

/** Options after defaults: everything the worker reads from its arguments and environment, read once. */
export interface ResolvedOptions {
  name: string;
  predictPath: string;
  /** --queue: claim jobs from the queue besides serving HTTP. */
  queue: boolean;
  /** --port, else $PORT, else 8000. */
  port: number;
  /** TOGETHER_API_BASE_URL without a trailing slash (https:// or http://). */
  apiBase: string;
  /** TOGETHER_API_KEY; unset is sent as "Bearer None", as the vendor's worker does. */
  apiKey: string | undefined;
  /** (TERMINATION_GRACE_PERIOD_SECONDS - 1) seconds, in ms. */
  predictTimeoutMs: number;
  /** RUN_AND_EXIT: run the warmup inputs this many times, then exit 0 (0: serve). */
  runAndExit: number;
  /** Interval of `running` heartbeats, in ms (GANTRY_SPROCKET_HEARTBEAT_SECONDS, default 45 s). */
  heartbeatMs: number;
  /** The lease asked for on retrieve: two heartbeat intervals, in seconds (default 90). */
  claimTimeoutSeconds: number;
  /**
   * How long a finished job's `done`/`failed` update is retried before the worker gives up, in ms
   * (GANTRY_SPROCKET_STATUS_RETRY_SECONDS, default 180 s: longer than a control-plane restart or a leader
   * failover at the default TTL 15 s + lock-delay 5 s).
   */
  statusRetryMs: number;
  /** Shortest time between two info updates, in ms. */
  infoIntervalMs: number;
  hostname: string;
  /** The ./VERSION file's content, sent as x-worker-version ("" when absent). */
  version: string;
}

export const DEFAULT_API_BASE = 'https://api.together.ai';

const NO_NAME =
  'No deployment name found. Gantry injects TOGETHER_DEPLOYMENT_NAME into every replica; when running ' +
  'locally, pass { name } to run() or set TOGETHER_DEPLOYMENT_NAME.';

const USAGE = 'usage: <worker> [--queue] [--port PORT]';

export function resolveOptions(options: RunOptions = {}): ResolvedOptions {
  const env = options.env ?? process.env;
  const args = parseWorkerArgs(options.argv ?? process.argv.slice(2), env);
  const heartbeatSeconds = positiveNumber(env, 'GANTRY_SPROCKET_HEARTBEAT_SECONDS', 45);
  return {
    name: nameOf(options.name, env),
    predictPath: predictPathOf(options.predictPath ?? '/generate'),
    ...args,
    apiBase: normalizeApiBase(env.TOGETHER_API_BASE_URL),
    apiKey: env.TOGETHER_API_KEY || undefined,
    predictTimeoutMs: (positiveNumber(env, 'TERMINATION_GRACE_PERIOD_SECONDS', 300) - 1) * 1000,
    runAndExit: nonNegativeInteger(env, 'RUN_AND_EXIT', 0),
    heartbeatMs: heartbeatSeconds * 1000,
    claimTimeoutSeconds: Math.max(1, Math.ceil(2 * heartbeatSeconds)),
    statusRetryMs: positiveNumber(env, 'GANTRY_SPROCKET_STATUS_RETRY_SECONDS', 180) * 1000,
    infoIntervalMs: 500,
    hostname: hostname(),
    version: readVersionFile(),
  };
}

/** `--queue` and `--port` (also `--port=N`); without --port, $PORT, else 8000. Unknown arguments are refused. */
export function parseWorkerArgs(argv: string[], env: Record<string, string | undefined>): { queue: boolean; port: number } {
  let values: { queue?: boolean; port?: string };
  try {
    ({ values } = parseArgs({ args: argv, options: { queue: { type: 'boolean' }, port: { type: 'string' } }, strict: true }));
  } catch (err) {
    throw new SprocketConfigError(`${USAGE}\nerror: ${(err as Error).message}`, 2);
  }
  const port = values.port ?? env.PORT ?? '8000';
  const where = values.port !== undefined ? '--port' : env.PORT !== undefined ? '$PORT' : 'default';
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new SprocketConfigError(`${where}: "${port}" is not a port (0-65535)`, 2);
  return { queue: values.queue ?? false, port: n };
}

/** The vendor prepends https:// to a base without it; Gantry's SDKs also accept http:// (compat.md §8.22). */
export function normalizeApiBase(value: string | undefined): string {
  let base = value || DEFAULT_API_BASE;
  if (!base.startsWith('https://') && !base.startsWith('http://')) base = `https://${base}`;
  return base.replace(/\/+$/, '');
}

function nameOf(name: string | undefined, env: Record<string, string | undefined>): string {
  const resolved = name || env.TOGETHER_DEPLOYMENT_NAME;
  if (!resolved) throw new SprocketConfigError(NO_NAME);
  return resolved;
}

function predictPathOf(value: string): string {
  const p = value.startsWith('/') ? value : `/${value}`;
  if (p === '/health' || p === '/metrics') throw new SprocketConfigError(`predictPath must not be ${p}: that route is the worker's own`);
  return p;
}

function positiveNumber(env: Record<string, string | undefined>, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new SprocketConfigError(`${key}: "${raw}" is not a positive number`);
  return n;
}

function nonNegativeInteger(env: Record<string, string | undefined>, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new SprocketConfigError(`${key}: "${raw}" is not a whole number >= 0`);
  return n;
}

function readVersionFile(): string {
  try {
    return readFileSync('VERSION', 'utf8').trim();
  } catch {
    return '';
  }
}

import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { UnsealError } from '../../secrets/local/seal.js';
import type { Logger } from '../../shared/logger.js';
import type { JobSpec } from '../scheduler.js';
import { isPlain, sealSpec, unsealSpec, type SealScope, type StoredSpec } from './sealed-spec.js';

/**
 * What the local scheduler keeps on disk, so a restarted server (even after kill -9) finds its replicas:
 *
 *   <dataDir>/scheduler/<deploymentId>.json   desired state: spec, desired count, next replica number
 *   <dataDir>/replicas/<replicaId>/replica.json  one replica: number, spec, port, GPUs, pid + start time
 *   <dataDir>/replicas/<replicaId>/output.log    its output (and output.log.1, the rotated part)
 *   <dataDir>/venvs/<hash>/                      virtualenvs of Python projects
 *
 * Files are written atomically (temporary file, fsync, rename) so a crash leaves the old or the new one.
 * Specs hold resolved secret values (`secretEnv`), needed to restart replicas after a restart. With a
 * `sealKey` they are written sealed (sealed-spec.ts), and a plain file left by an older server is sealed
 * when read; a file that does not unseal (wrong key, altered) is skipped like any unreadable one. Either
 * way the files are 0600 in 0700 directories.
 */
export interface DeploymentRecord {
  spec: JobSpec;
  desired: number;
  /** Replica numbers are never reused, so a replica id names one replica only. */
  nextNumber: number;
}

export interface ReplicaRecord {
  replicaId: string;
  deploymentId: string;
  number: number;
  spec: JobSpec;
  port: number | undefined;
  gpus: number[] | undefined;
  /** The running process, if any: pid, and its /proc start time to tell it from a reused pid. */
  pid: number | undefined;
  pidStartTime: number | undefined;
  /** The running process's incarnation (Scheduler.incarnations), made when it started; kept for adoption. */
  incarnation?: string | undefined;
  startedAt: number | undefined;
  /** Kept so an adopted replica is not reported unready (or retired mid-rollout) before its first check. */
  readySince: number | undefined;
  restarts: number;
}

type Stored<R extends { spec: JobSpec }> = Omit<R, 'spec'> & { spec: StoredSpec };

export interface StateFilesOptions {
  /** 32-byte AES-256-GCM key for the secret values in specs (default: none, written plain). */
  sealKey?: Buffer | undefined;
  /** Told about files that cannot be read, by path and error kind only (never their content). */
  logger?: Pick<Logger, 'warn'>;
}

export class StateFiles {
  readonly replicasDir: string;
  readonly deploymentsDir: string;
  readonly venvsDir: string;
  private readonly sealKey: Buffer | undefined;
  private readonly logger: Pick<Logger, 'warn'> | undefined;

  constructor(dataDir: string, options: StateFilesOptions = {}) {
    this.replicasDir = path.join(dataDir, 'replicas');
    this.deploymentsDir = path.join(dataDir, 'scheduler');
    this.venvsDir = path.join(dataDir, 'venvs');
    this.sealKey = options.sealKey;
    this.logger = options.logger;
  }

  replicaDir(replicaId: string): string {
    return path.join(this.replicasDir, fileName(replicaId));
  }

  logPath(replicaId: string): string {
    return path.join(this.replicaDir(replicaId), 'output.log');
  }

  writeReplica(record: ReplicaRecord): void {
    mkdirSync(this.replicaDir(record.replicaId), { recursive: true, mode: 0o700 });
    const spec = sealSpec(this.sealKey, record.spec, replicaScope(record));
    writeAtomic(path.join(this.replicaDir(record.replicaId), 'replica.json'), { ...record, spec });
  }

  removeReplica(replicaId: string): void {
    rmSync(this.replicaDir(replicaId), { recursive: true, force: true });
  }

  readReplicas(): ReplicaRecord[] {
    return listDir(this.replicasDir)
      .map((name) => this.read<ReplicaRecord>(path.join(this.replicasDir, name, 'replica.json'), replicaScope))
      .filter(isLoaded)
      .map((r) => this.resealed(r, (record) => this.writeReplica(record)));
  }

  writeDeployment(record: DeploymentRecord): void {
    mkdirSync(this.deploymentsDir, { recursive: true, mode: 0o700 });
    const spec = sealSpec(this.sealKey, record.spec, deploymentScope(record));
    writeAtomic(this.deploymentPath(record.spec.deploymentId), { ...record, spec });
  }

  removeDeployment(deploymentId: string): void {
    rmSync(this.deploymentPath(deploymentId), { force: true });
  }

  readDeployments(): DeploymentRecord[] {
    return listDir(this.deploymentsDir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => this.read<DeploymentRecord>(path.join(this.deploymentsDir, name), deploymentScope))
      .filter(isLoaded)
      .map((r) => this.resealed(r, (record) => this.writeDeployment(record)));
  }

  /** A record with its secret values unsealed, or undefined (logged) when the file is unreadable. */
  private read<R extends { spec: JobSpec }>(file: string, scopeOf: (r: Stored<R>) => SealScope): Loaded<R> | undefined {
    try {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Stored<R>;
      const spec = unsealSpec(this.sealKey, stored.spec, scopeOf(stored));
      return { record: { ...stored, spec } as unknown as R, plain: isPlain(this.sealKey, stored.spec) };
    } catch (err) {
      this.logUnreadable(file, err);
      return undefined;
    }
  }

  /** Seals, in place, the secret values of a file written plain (by a server without a key). */
  private resealed<R>({ record, plain }: Loaded<R>, write: (record: R) => void): R {
    if (plain) write(record);
    return record;
  }

  private logUnreadable(file: string, err: unknown): void {
    const reason = reasonOf(err);
    if (reason !== 'ENOENT') this.logger?.warn({ file, reason }, 'skipped an unreadable scheduler state file');
  }

  private deploymentPath(deploymentId: string): string {
    return path.join(this.deploymentsDir, `${fileName(deploymentId)}.json`);
  }
}

/** Ids come from the API's `[A-Za-z0-9_-]` names and UUIDs; anything else is replaced so it stays one path segment. */
export function fileName(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
}

function writeAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

interface Loaded<R> {
  record: R;
  /** Its secret values were plain on disk though a key is set. */
  plain: boolean;
}

/**
 * Why a file was unreadable, without its content: a JSON error's message quotes the file, which may hold
 * secret values, so only the errno code or error name is kept; an UnsealError's fixed message is safe.
 */
function reasonOf(err: unknown): string {
  if (err instanceof UnsealError) return `${err.name}: ${err.message}`;
  if (!(err instanceof Error)) return typeof err;
  return (err as NodeJS.ErrnoException).code ?? err.name;
}

function isLoaded<R>(loaded: Loaded<R> | undefined): loaded is Loaded<R> {
  return loaded !== undefined;
}

function replicaScope(record: { replicaId: string }): SealScope {
  return { kind: 'replica', id: record.replicaId };
}

function deploymentScope(record: { spec: { deploymentId: string } }): SealScope {
  return { kind: 'deployment', id: record.spec.deploymentId };
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

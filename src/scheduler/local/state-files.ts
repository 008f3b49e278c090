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
import type { JobSpec } from '../scheduler.js';

/**
 * What the local scheduler keeps on disk, so a restarted server (even after kill -9) finds its replicas:
 *
 *   <dataDir>/scheduler/<deploymentId>.json   desired state: spec, desired count, next replica number
 *   <dataDir>/replicas/<replicaId>/replica.json  one replica: number, spec, port, GPUs, pid + start time
 *   <dataDir>/replicas/<replicaId>/output.log    its output (and output.log.1, the rotated part)
 *   <dataDir>/venvs/<hash>/                      virtualenvs of Python projects
 *
 * Files are written atomically (temporary file, fsync, rename) so a crash leaves the old or the new one.
 * Specs hold resolved secret values (`secretEnv`), needed to restart replicas after a restart: the files
 * are 0600 in 0700 directories, next to the key that decrypts every secret anyway.
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
  startedAt: number | undefined;
  /** Kept so an adopted replica is not reported unready (or retired mid-rollout) before its first check. */
  readySince: number | undefined;
  restarts: number;
}

export class StateFiles {
  readonly replicasDir: string;
  readonly deploymentsDir: string;
  readonly venvsDir: string;

  constructor(dataDir: string) {
    this.replicasDir = path.join(dataDir, 'replicas');
    this.deploymentsDir = path.join(dataDir, 'scheduler');
    this.venvsDir = path.join(dataDir, 'venvs');
  }

  replicaDir(replicaId: string): string {
    return path.join(this.replicasDir, fileName(replicaId));
  }

  logPath(replicaId: string): string {
    return path.join(this.replicaDir(replicaId), 'output.log');
  }

  writeReplica(record: ReplicaRecord): void {
    mkdirSync(this.replicaDir(record.replicaId), { recursive: true, mode: 0o700 });
    writeAtomic(path.join(this.replicaDir(record.replicaId), 'replica.json'), record);
  }

  removeReplica(replicaId: string): void {
    rmSync(this.replicaDir(replicaId), { recursive: true, force: true });
  }

  readReplicas(): ReplicaRecord[] {
    return listDir(this.replicasDir)
      .map((name) => readJson<ReplicaRecord>(path.join(this.replicasDir, name, 'replica.json')))
      .filter((r): r is ReplicaRecord => r !== undefined);
  }

  writeDeployment(record: DeploymentRecord): void {
    mkdirSync(this.deploymentsDir, { recursive: true, mode: 0o700 });
    writeAtomic(this.deploymentPath(record.spec.deploymentId), record);
  }

  removeDeployment(deploymentId: string): void {
    rmSync(this.deploymentPath(deploymentId), { force: true });
  }

  readDeployments(): DeploymentRecord[] {
    return listDir(this.deploymentsDir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => readJson<DeploymentRecord>(path.join(this.deploymentsDir, name)))
      .filter((r): r is DeploymentRecord => r !== undefined);
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

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

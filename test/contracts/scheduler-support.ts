import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { systemClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/logger.js';
import { LocalScheduler, type LocalSchedulerOptions } from '../../src/scheduler/local/local-scheduler.js';
import { readProcStat } from '../../src/scheduler/local/proc.js';
import type { JobSpec, ReplicaStatus, Scheduler, WorkerTokens } from '../../src/scheduler/scheduler.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

/** Test support for the Scheduler contract and the LocalScheduler unit tests. */

export const REPLICA_FIXTURES = path.join(REPO_ROOT, 'test/fixtures/replicas');
export const HTTP_WORKER = path.join(REPLICA_FIXTURES, 'http-worker');
export const PYTHON_WORKER = path.join(REPLICA_FIXTURES, 'python-worker');

/** A spec for the fixture HTTP worker; every test gets its own deployment id. */
export function workerSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  const deploymentId = overrides.deploymentId ?? `dep-${randomUUID().slice(0, 8)}`;
  return {
    deploymentId,
    deploymentName: 'fixture',
    revisionId: 'rev-00000001',
    image: 'registry.example/fixture:1',
    source: { path: HTTP_WORKER, cmd: [process.execPath, 'server.mjs'], python: false, dependencies: [] },
    command: undefined,
    args: undefined,
    env: { TOGETHER_DEPLOYMENT_NAME: 'fixture', TOGETHER_API_BASE_URL: 'https://gantry.test:8443' },
    secretEnv: {},
    port: 8000,
    healthCheckPath: '/health',
    cpu: 1,
    memoryGiB: 1,
    storageGiB: 1,
    gpuType: 'none',
    gpuCount: 0,
    volumes: [],
    terminationGracePeriodSeconds: 2,
    replicas: 1,
    ...overrides,
  };
}

/** A WorkerTokens double that records what it issued and revoked. */
export class RecordingTokens implements WorkerTokens {
  readonly issued: Array<{ deploymentId: string; replicaId: string; token: string }> = [];
  readonly revoked: Array<{ deploymentId: string; replicaId: string | undefined }> = [];

  async issue(deploymentId: string, replicaId: string): Promise<string> {
    const token = `wt_${randomUUID().replaceAll('-', '')}`;
    this.issued.push({ deploymentId, replicaId, token });
    return token;
  }

  async revoke(deploymentId: string, replicaId?: string): Promise<void> {
    this.revoked.push({ deploymentId, replicaId });
  }

  tokenOf(replicaId: string): string | undefined {
    return this.issued.filter((i) => i.replicaId === replicaId).at(-1)?.token;
  }
}

export interface TestScheduler {
  scheduler: LocalScheduler;
  dataDir: string;
  tokens: RecordingTokens;
}

const dataDirs = new Set<string>();
const schedulers = new Set<LocalScheduler>();

/** A LocalScheduler over a fresh data directory, with test-speed timings (100 ms checks, 100 ms backoff). */
export function createTestScheduler(overrides: Partial<LocalSchedulerOptions> = {}): TestScheduler {
  const dataDir = overrides.dataDir ?? mkdtempSync(path.join(tmpdir(), 'gantry-sched-'));
  dataDirs.add(dataDir);
  const tokens = new RecordingTokens();
  const scheduler = new LocalScheduler({
    dataDir,
    tokens,
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    publicUrl: 'https://gantry.test:8443',
    gpuProbe: async () => [],
    healthIntervalMs: 100,
    restartPolicy: { initialDelayMs: 100, maxDelayMs: 2000 },
    closeGraceMs: 2000,
    ...overrides,
  });
  schedulers.add(scheduler);
  return { scheduler, dataDir, tokens };
}

/** Closes every scheduler the test made and removes their data directories (afterEach). */
export async function cleanupTestSchedulers(): Promise<void> {
  await Promise.all([...schedulers].map((s) => s.close().catch(() => undefined)));
  schedulers.clear();
  killRecordedReplicas();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  dataDirs.clear();
}

/** The recorded pid of a replica (from its replica.json), if it has a running process. */
export function replicaPid(dataDir: string, replicaId: string): number | undefined {
  try {
    const record = JSON.parse(readFileSync(path.join(dataDir, 'replicas', replicaId, 'replica.json'), 'utf8')) as {
      pid?: number;
    };
    return record.pid;
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs; a zombie (ended, not yet reaped by its new parent after a server kill) counts as ended. */
export function isAlive(pid: number): boolean {
  const state = readProcStat(pid)?.state;
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** Safety net: SIGKILLs the process group of every replica recorded in a test data directory. */
function killRecordedReplicas(): void {
  for (const dir of dataDirs) {
    let names: string[] = [];
    try {
      names = readdirSync(path.join(dir, 'replicas'));
    } catch {
      continue;
    }
    for (const name of names) {
      const pid = replicaPid(dir, name);
      if (pid === undefined) continue;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

process.once('exit', killRecordedReplicas);

/** Polls `probe` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** Polls a deployment's replicas until `until` is truthy for them, and returns them; fails with `what` after `timeoutMs`. */
export function waitForReplicas(
  scheduler: Pick<Scheduler, 'replicas'>,
  deploymentId: string,
  what: string,
  until: (replicas: ReplicaStatus[]) => unknown,
  timeoutMs?: number,
): Promise<ReplicaStatus[]> {
  const probe = async () => {
    const replicas = await scheduler.replicas(deploymentId);
    return until(replicas) ? replicas : undefined;
  };
  return waitFor(what, probe, timeoutMs);
}

/** Waits until exactly `count` replicas of the deployment are ready, and returns all of its replicas. */
export function waitForReady(scheduler: Pick<Scheduler, 'replicas'>, deploymentId: string, count = 1): Promise<ReplicaStatus[]> {
  return waitForReplicas(scheduler, deploymentId, `${count} ready`, (replicas) => replicas.filter((r) => r.readySince).length === count);
}

/** Waits until the deployment's first replica reports `reason` (CrashLoopBackOff, Unschedulable, …); returns all. */
export function waitForReason(
  scheduler: Pick<Scheduler, 'replicas'>,
  deploymentId: string,
  reason: string,
  timeoutMs?: number,
): Promise<ReplicaStatus[]> {
  return waitForReplicas(scheduler, deploymentId, reason, (replicas) => replicas[0]?.reason === reason, timeoutMs);
}

/** GET http://127.0.0.1:<port><path> as JSON. */
export async function getJson<T = Record<string, unknown>>(port: number, urlPath: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
  return (await res.json()) as T;
}

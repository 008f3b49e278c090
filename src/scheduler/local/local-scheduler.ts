/**
 * LocalScheduler: the embedded default's Scheduler. Each replica is a real child process of the project's
 * command, in the project's directory, on this machine.
 *
 * Choices (where DESIGN and compat.md leave room):
 * - Only local project directories run here (`JobSpec.source`); a container image is refused at apply
 *   with UnsupportedSpecError. Python projects run in a virtualenv built from their dependencies, minus
 *   `sprocket`, plus `extraPythonPackages` (Gantry's own sprocket, compat.md §8.30) — venv.ts.
 * - A replica is detached (own session and process group): it survives the server, even kill -9, and is
 *   signalled as a group. Its output goes to `<dataDir>/replicas/<id>/output.log` through a descriptor the
 *   server opens, rotated at 8 MiB by copy-and-truncate (log-file.ts).
 * - Its environment starts clean (env.ts): the server's own may hold secrets. Each replica gets its own
 *   port as PORT (no `--port` is appended), its own worker token as TOGETHER_API_KEY (one per replica,
 *   kept in memory across restarts, revoked when the replica is gone), and whole GPUs as
 *   CUDA_VISIBLE_DEVICES ("" when it needs none). A replica that cannot get its GPUs waits, Unschedulable;
 *   GPU types are not matched against nvidia-smi names (the operator decides what a local GPU is).
 * - Every replica runs in its own bubblewrap sandbox (sandbox.ts, mount-plan.ts): the machine read-only,
 *   the data directory hidden, its own PID namespace, and a uid of its own when the server is root.
 *   Volumes are read-only binds in it. Without a working bwrap, apply refuses and says what is missing;
 *   GANTRY_SANDBOX=none (the operator's explicit opt-out) runs replicas unsandboxed and refuses volumes.
 * - Ready means the health check answered 200 (or, without a health path, 1 s alive). A check that times
 *   out keeps the replica as it was (§8.28); failing checks never restart a replica. Any exit does, with
 *   backoff 1 s doubling to 60 s; 3 exits within 10 minutes show as CrashLoopBackOff (backoff.ts).
 * - A new revision rolls (deployment.ts). Replica ids are `<name>-<revision>-<n>`, n never reused.
 * - State lives in files (state-files.ts): pid + /proc start time and readiness per replica, desired
 *   counts per deployment. Secret values in them are sealed with `sealKey` when given (sealed-spec.ts). start() adopts live replicas and restarts dead ones (adoption.ts); an adopted
 *   replica keeps its readiness until its next check, so a server restart does not make deployments flap.
 *   Every method awaits start(), so nothing can be applied twice over replicas not yet adopted.
 * - close() stops the replicas (SIGTERM, SIGKILL after at most `closeGraceMs`) but keeps the desired
 *   state, so the next start() starts them again: a stopped server should not leave GPU processes running
 *   unsupervised, and a restarted one should come back as it was. A server that dies without close()
 *   leaves them running, and the next start() adopts them.
 * - Each start of a replica's process is an incarnation (incarnations()): a random id made at launch and
 *   kept in the replica's file, so an adopted process keeps it and any new process of the same replica id
 *   (a crash restart, close() and start()) gets a new one. The queue binds claims to it.
 * - stop(deploymentId) resolves once every process has ended (up to the grace period); apply and scale
 *   resolve once the change has begun (replicas start and stop in the background).
 */
import type { JobSpec, LogLine, LogOptions, ReplicaExit, ReplicaStatus, Scheduler } from '../scheduler.js';
import { restoreFromDisk } from './adoption.js';
import type { ReplicaContext } from './context.js';
import { LocalDeployment } from './deployment.js';
import { GpuPool } from './gpus.js';
import { LogTail } from './log-file.js';
import { resolveOptions, type LocalSchedulerOptions, type ResolvedLocalSchedulerOptions } from './options.js';
import { PortAllocator } from './ports.js';
import { Sandbox } from './sandbox.js';
import { StateFiles } from './state-files.js';
import { sleep } from '../../shared/sleep.js';
import { assertRunnable } from './validate.js';
import { VenvManager } from './venv.js';

export type { LocalSchedulerOptions } from './options.js';

/** How often `logs({ follow: true })` looks for new output. */
const LOG_POLL_MS = 250;
/** Lines per yielded batch, so a large log does not arrive as one giant array. */
const LOG_BATCH = 1000;

export class LocalScheduler implements Scheduler {
  private readonly options: ResolvedLocalSchedulerOptions;
  private readonly ctx: ReplicaContext;
  private deployments = new Map<string, LocalDeployment>();
  private readonly listeners = new Set<(exit: ReplicaExit) => void>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private started: Promise<void> | undefined;
  private closed = false;

  constructor(options: LocalSchedulerOptions) {
    this.options = resolveOptions(options);
    const { dataDir, pythonBin, pipIndexUrl, extraPythonPackages: extraPackages, baseEnv } = this.options;
    const files = new StateFiles(dataDir, { sealKey: this.options.sealKey, logger: this.options.logger });
    const { caFile, sandboxUids: uids } = this.options;
    const sandbox = new Sandbox({ mode: this.options.sandbox, dataDir, caFile, uids, path: baseEnv.PATH });
    this.ctx = {
      options: this.options,
      logger: this.options.logger,
      tokens: this.options.tokens,
      files,
      gpus: new GpuPool(this.options.gpuProbe),
      ports: new PortAllocator(),
      venvs: new VenvManager({
        root: files.venvsDir,
        pythonBin,
        pipIndexUrl,
        extraPackages,
        sprocketPackage: this.options.sprocketPackage,
        baseEnv,
        sandbox: sandbox.enabled ? sandbox : undefined,
      }),
      sandbox,
      reportExit: (exit) => this.reportExit(exit),
    };
  }

  /** Takes back the replicas a previous server left (see adoption.ts). Every other method awaits it too. */
  start(): Promise<void> {
    this.started ??= this.reportSandbox().then(() => {
      this.deployments = restoreFromDisk(this.ctx);
      this.options.logger.info({ deployments: this.deployments.size }, 'local scheduler started');
    });
    return this.started;
  }

  /** Stops every replica (bounded wait) and keeps the desired state for the next start(). */
  async close(): Promise<void> {
    this.closed = true;
    await this.start();
    const all = [...this.deployments.values()];
    this.ctx.venvs.close();
    await Promise.all(all.map((d) => d.stopAll(false, this.options.closeGraceMs)));
    this.deployments.clear();
  }

  async apply(spec: JobSpec): Promise<void> {
    await assertRunnable(spec, this.ctx.sandbox);
    await this.exclusive(spec.deploymentId, () => {
      const existing = this.deployments.get(spec.deploymentId);
      if (existing) return existing.apply(spec);
      const deployment = new LocalDeployment(this.ctx, { spec, desired: 0, nextNumber: 0 });
      this.deployments.set(spec.deploymentId, deployment);
      deployment.apply(spec);
    });
  }

  async scale(deploymentId: string, count: number): Promise<void> {
    // Unknown deployments are ignored: an autoscaler tick may race with a stop.
    await this.exclusive(deploymentId, () => this.deployments.get(deploymentId)?.scale(count));
  }

  async stop(deploymentId: string): Promise<void> {
    await this.exclusive(deploymentId, async () => {
      this.ctx.files.removeDeployment(deploymentId); // first: a server dying mid-stop must not restart them
      await this.deployments.get(deploymentId)?.stopAll(true);
      this.deployments.delete(deploymentId);
      await this.options.tokens.revoke(deploymentId);
    });
  }

  async replicas(deploymentId: string): Promise<ReplicaStatus[]> {
    await this.start();
    return this.deployments.get(deploymentId)?.statuses() ?? [];
  }

  async incarnations(deploymentId: string): Promise<Map<string, string>> {
    await this.start();
    return this.deployments.get(deploymentId)?.incarnations() ?? new Map();
  }

  async scaleDownOrder(deploymentId: string): Promise<string[]> {
    await this.start();
    return this.deployments.get(deploymentId)?.scaleDownOrder() ?? [];
  }

  async *logs(deploymentId: string, options: LogOptions): AsyncIterable<LogLine[]> {
    await this.start();
    const tails = new Map<string, LogTail>();
    for (;;) {
      const deployment = this.deployments.get(deploymentId);
      const ids = (deployment?.replicaIds() ?? []).filter((id) => !options.replicaId || id === options.replicaId);
      for (const replicaId of ids) {
        const tail = tails.get(replicaId) ?? new LogTail(this.ctx.files.logPath(replicaId));
        tails.set(replicaId, tail);
        yield* batches(replicaId, tail.read(options.follow ? 'if-idle' : 'all'));
      }
      if (!options.follow || options.signal?.aborted || !deployment) return;
      await sleep(LOG_POLL_MS, options.signal);
    }
  }

  onReplicaExit(listener: (exit: ReplicaExit) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- internals ----

  /** Says at start when replicas will not be sandboxed, and why: the operator's opt-out, or what is missing. */
  private async reportSandbox(): Promise<void> {
    const reason = await this.ctx.sandbox.unavailableReason();
    if (!reason) return;
    if (!this.ctx.sandbox.enabled) {
      this.options.logger.warn('GANTRY_SANDBOX=none: local replicas run unsandboxed, as the server\'s user, and can read its data directory');
    } else {
      this.options.logger.error({ reason }, `local replicas cannot be sandboxed, so none will start: ${reason}`);
    }
  }

  private reportExit(exit: ReplicaExit): void {
    for (const listener of this.listeners) {
      try {
        listener(exit);
      } catch (err) {
        this.options.logger.error({ err, replicaId: exit.replicaId }, 'replica exit listener failed');
      }
    }
  }

  /** Runs `fn` after start() and after every earlier change to the same deployment. */
  private async exclusive<T>(deploymentId: string, fn: () => T | Promise<T>): Promise<T> {
    if (this.closed) throw new Error('the local scheduler is closed');
    await this.start();
    const previous = this.locks.get(deploymentId) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(fn);
    this.locks.set(deploymentId, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(deploymentId) === run) this.locks.delete(deploymentId);
    }
  }
}

function* batches(replicaId: string, lines: string[]): Generator<LogLine[]> {
  for (let i = 0; i < lines.length; i += LOG_BATCH) {
    yield lines.slice(i, i + LOG_BATCH).map((line) => ({ replicaId, line }));
  }
}

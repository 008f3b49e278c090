import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { isoTime } from '../../shared/clock.js';
import type { JobSpec, ReplicaExit, ReplicaState, ReplicaStatus } from '../scheduler.js';
import { RestartTracker } from './backoff.js';
import type { ReplicaContext } from './context.js';
import { buildReplicaEnv, replicaArgv } from './env.js';
import { unschedulableMessage } from './gpus.js';
import { nextReadiness, probeHealth, UnhealthyWatch, type HealthResult } from './health.js';
import { readLastLines, rotateIfLarge } from './log-file.js';
import { launchProcess, type Ended, type ProcessHandle } from './process-handle.js';
import type { ReplicaRecord } from './state-files.js';
import { sleep } from '../../shared/sleep.js';
import { Ticker, untilAborted } from './timers.js';

/**
 * One replica: a process of the deployment's command, kept running until it is stopped.
 *
 *   prepare venv ─► wait for GPUs ─► launch ─► running (health ticks) ─► exited ─► backoff ─┐
 *        ▲   (Waiting/ContainerCreating,   (Running; ready once   (Terminated, or           │
 *        │    Unschedulable)                the check passes)      Waiting/CrashLoopBackOff)  │
 *        └──────────────────────────────────────────────────────────────────────────────────┘
 *
 * Every exit is reported at once; stop() ends the loop (SIGTERM, SIGKILL after the grace period) and the
 * replica is not restarted. A preparation failure (pip) is retried with the same backoff.
 */
export interface StopMode {
  graceMs: number;
  /** Remove the replica's files (scale-down, roll, stop) or keep its record for the next start (close). */
  forget: boolean;
}

interface Phase {
  state: ReplicaState;
  reason?: string;
  message?: string;
}

/** Reasons that mean the replica cannot become ready without outside help: a rollout stops waiting for it. */
const STUCK_REASONS = new Set(['Unschedulable', 'CrashLoopBackOff', 'CreateContainerError']);

export class Replica {
  readonly replicaId: string;
  readonly number: number;
  readonly spec: JobSpec;
  private phase: Phase = { state: 'Waiting', reason: 'ContainerCreating', message: 'starting' };
  private handle: ProcessHandle | undefined;
  private port: number | undefined;
  private gpus: number[] | undefined;
  private startedAt: number | undefined;
  private readySince: number | undefined;
  private token: string | undefined;
  /** This run of the process (Scheduler.incarnations): made at each launch, kept by an adoption. */
  private incarnation: string | undefined;
  private restarts: number;
  private volumePreload: ReplicaStatus['volumePreload'];
  private readonly tracker: RestartTracker;
  private readonly abort = new AbortController();
  private stopMode: StopMode | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly ctx: ReplicaContext,
    record: ReplicaRecord,
    private readonly onChange: () => void,
  ) {
    this.replicaId = record.replicaId;
    this.number = record.number;
    this.spec = record.spec;
    this.port = record.port;
    this.gpus = record.gpus;
    this.restarts = record.restarts;
    this.startedAt = record.startedAt;
    this.readySince = record.readySince;
    this.incarnation = record.incarnation ?? (record.pid === undefined ? undefined : `pid-${record.pid}-${record.pidStartTime}`);
    this.tracker = new RestartTracker(ctx.options.restartPolicy);
  }

  /** Starts the lifecycle; `adopted` is this replica's process that outlived a server restart. */
  run(adopted?: ProcessHandle): void {
    this.loop = this.lifecycle(adopted).catch((err: unknown) => {
      this.ctx.logger.error({ err, replicaId: this.replicaId }, 'replica lifecycle failed');
    });
  }

  /** Ends the replica for good; resolves once its process is gone. */
  async stop(mode: StopMode): Promise<void> {
    if (!this.stopMode) {
      this.stopMode = mode;
      this.readySince = undefined;
      this.setPhase({ state: this.handle ? 'Running' : 'Terminated', reason: 'Terminating' });
      this.abort.abort();
      if (this.handle) void this.terminate(this.handle);
    }
    await this.loop;
  }

  /** The incarnation of the process running now, if one runs. */
  runningIncarnation(): Array<{ replicaId: string; incarnation: string }> {
    return this.handle && this.incarnation ? [{ replicaId: this.replicaId, incarnation: this.incarnation }] : [];
  }

  isReady(): boolean {
    return this.readySince !== undefined;
  }

  isStuck(): boolean {
    return STUCK_REASONS.has(this.phase.reason ?? '');
  }

  isStopping(): boolean {
    return this.stopMode !== undefined;
  }

  status(): ReplicaStatus {
    const running = this.handle !== undefined && this.port !== undefined;
    return {
      replicaId: this.replicaId,
      deploymentId: this.spec.deploymentId,
      revisionId: this.spec.revisionId,
      image: this.spec.image,
      state: this.phase.state,
      reason: this.phase.reason,
      message: this.phase.message,
      readySince: this.readySince === undefined ? undefined : isoTime(this.readySince),
      startedAt: this.startedAt === undefined ? undefined : isoTime(this.startedAt),
      restarts: this.restarts,
      address: running ? { host: '127.0.0.1', port: this.port! } : undefined,
      volumePreload: this.volumePreload && { ...this.volumePreload },
    };
  }

  // ---- lifecycle ----

  private async lifecycle(adopted: ProcessHandle | undefined): Promise<void> {
    let handle = adopted;
    while (!this.stopMode) {
      if (!handle) {
        try {
          handle = await this.start();
        } catch (err) {
          await this.startFailed(err);
          continue;
        }
      }
      if (!handle) break; // stopped while starting
      const ended = await this.supervise(handle);
      handle = undefined;
      if (!this.stopMode) await this.backOff(ended);
    }
    await this.release();
  }

  private async start(): Promise<ProcessHandle | undefined> {
    const venvDir = await this.prepareVenv();
    const gpus = await this.acquireGpus();
    if (!gpus || this.stopMode) return undefined;
    this.port = await this.ctx.ports.ensure(this.port);
    // One token per replica, kept in memory across restarts (never on disk); revoked in release().
    this.token ??= await this.ctx.tokens.issue(this.spec.deploymentId, this.replicaId);
    if (this.stopMode) return undefined;
    return this.launch(venvDir, gpus, this.token);
  }

  private async prepareVenv(): Promise<string | undefined> {
    const source = this.spec.source!;
    if (!source.python) return undefined;
    const count = source.dependencies.length + this.ctx.options.extraPythonPackages.length;
    const message = `preparing the Python virtualenv (${count} package${count === 1 ? '' : 's'} to install)`;
    this.setPhase({ state: 'Waiting', reason: 'ContainerCreating', message });
    return untilAborted(this.ctx.venvs.ensure(source.dependencies), this.abort.signal);
  }

  private async acquireGpus(): Promise<number[] | undefined> {
    if (this.gpus) return this.gpus; // kept across restarts, as a pod keeps its devices
    const { gpuCount, gpuType } = this.spec;
    this.gpus = await this.ctx.gpus.acquire(gpuCount, {
      signal: this.abort.signal,
      onWait: (free, all) => {
        const message = unschedulableMessage(gpuCount, gpuType, free, all);
        this.setPhase({ state: 'Waiting', reason: 'Unschedulable', message });
      },
    });
    return this.gpus;
  }

  private async launch(venvDir: string | undefined, gpus: number[], token: string): Promise<ProcessHandle> {
    const source = this.spec.source!;
    const { options, sandbox } = this.ctx;
    const { volumes } = this.spec;
    const port = this.port!;
    const replicaDir = this.ctx.files.replicaDir(this.replicaId);
    const argv = replicaArgv(source.cmd, venvDir);
    // apply() refuses this; a spec restored from disk under another sandbox setting must not slip through.
    if (volumes.length > 0 && !sandbox.enabled) throw new Error('volume mounts need bubblewrap, and the sandbox is off');
    if (volumes.length > 0) this.volumePreload = { status: 'InProgress', startedAt: this.now() };
    mkdirSync(replicaDir, { recursive: true, mode: 0o700 });
    // In the sandbox, the replica's own scratch directory is its HOME and holds Sprocket's marker files.
    const home = sandbox.enabled ? sandbox.homeOf(replicaDir) : undefined;
    const markerDir = home ?? replicaDir;
    const env = buildReplicaEnv({ ...options, base: options.baseEnv, spec: this.spec, token, port, gpus, venvDir, markerDir, home });
    const { deploymentId } = this.spec;
    const command = sandbox.enabled
      ? sandbox.prepare({ deploymentId, argv, cwd: source.path, volumes, venvDir, replicaDir, env })
      : { file: argv[0]!, args: argv.slice(1), env };
    const handle = await launchProcess({ ...command, cwd: source.path, logPath: this.logPath() });
    if (this.volumePreload) {
      this.volumePreload = { ...this.volumePreload, status: 'Completed', completedAt: this.now() };
    }
    this.startedAt = this.ctx.options.clock.now();
    this.incarnation = randomUUID();
    this.persist(handle);
    this.ctx.logger.info({ replicaId: this.replicaId, pid: handle.pid, port: this.port, gpus }, 'replica started');
    return handle;
  }

  /** Watches a running process until it ends, and reports the end. */
  private async supervise(handle: ProcessHandle): Promise<Ended> {
    this.handle = handle;
    if (this.stopMode) void this.terminate(handle);
    else this.setPhase({ state: 'Running' });
    const watch = new UnhealthyWatch(this.ctx.options.unhealthyReplaceMs, this.isReady());
    const ticker = new Ticker(() => this.tick(handle, watch), this.ctx.options.healthIntervalMs, (err) =>
      this.ctx.logger.warn({ err, replicaId: this.replicaId }, 'replica check failed'),
    );
    const ended = await handle.exited;
    ticker.stop();
    this.handle = undefined;
    this.readySince = undefined;
    handle.signal('SIGKILL'); // whatever the replica started and left behind in its group
    this.persist(undefined);
    this.reportExit(ended);
    return ended;
  }

  private async tick(handle: ProcessHandle, watch: UnhealthyWatch): Promise<void> {
    rotateIfLarge(this.logPath(), this.ctx.options.logCapBytes);
    const wasReady = this.isReady();
    const result = await this.probe();
    if (this.handle !== handle || this.stopMode) return;
    if (result && watch.observe(result, this.ctx.options.clock.now())) this.replaceUnhealthy(handle);
    const ready = result ? nextReadiness(wasReady, result) : this.readyWithoutCheck();
    if (ready === wasReady) return;
    this.readySince = ready ? this.ctx.options.clock.now() : undefined;
    this.persist(handle);
    this.onChange();
  }

  /** The health check's answer, or undefined for a spec without a health path. */
  private async probe(): Promise<HealthResult | undefined> {
    const { healthCheckPath } = this.spec;
    return healthCheckPath ? probeHealth(this.port!, healthCheckPath, this.ctx.options.healthTimeoutMs) : undefined;
  }

  private readyWithoutCheck(): boolean {
    const { clock, readyWithoutCheckMs } = this.ctx.options;
    return clock.now() - (this.startedAt ?? clock.now()) >= readyWithoutCheckMs;
  }

  /** Ends a process that stays unhealthy after having been ready; the lifecycle restarts it as after an exit. */
  private replaceUnhealthy(handle: ProcessHandle): void {
    const seconds = Math.round(this.ctx.options.unhealthyReplaceMs / 1000);
    const line = `${this.spec.healthCheckPath} answered other than 200 for ${seconds}s after the replica was ready; replacing it`;
    this.ctx.logger.warn({ replicaId: this.replicaId }, line);
    this.appendToLog(`[gantry] ${line}`);
    void this.terminate(handle);
  }

  private terminate(handle: ProcessHandle): Promise<void> {
    const graceMs = this.stopMode?.graceMs ?? this.spec.terminationGracePeriodSeconds * 1000;
    handle.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killLater = new Promise<void>((resolve) => {
      timer = setTimeout(() => (handle.signal('SIGKILL'), resolve()), graceMs);
    });
    return Promise.race([handle.exited.then(() => clearTimeout(timer)), killLater]);
  }

  private reportExit(ended: Ended): void {
    const { deploymentId, revisionId } = this.spec;
    const at = isoTime(this.ctx.options.clock.now());
    const exit: ReplicaExit = { deploymentId, replicaId: this.replicaId, revisionId, ...ended, at };
    this.ctx.logger.info({ replicaId: this.replicaId, code: ended.code, signal: ended.signal }, 'replica exited');
    this.ctx.reportExit(exit);
    this.onChange();
  }

  /** After an exit: say why, wait the backoff, and count the restart. */
  private async backOff(ended: Ended): Promise<void> {
    const now = this.ctx.options.clock.now();
    const decision = this.tracker.recordExit(now, now - (this.startedAt ?? now));
    const seconds = Math.round(decision.delayMs / 100) / 10;
    const phase = decision.crashLoop ? this.crashLoopPhase(decision.recentExits, seconds) : exitedPhase(ended, seconds);
    this.setPhase(phase);
    await sleep(decision.delayMs, this.abort.signal);
    if (!this.stopMode) this.restarts += 1;
  }

  private crashLoopPhase(exits: number, seconds: number): Phase {
    const last = readLastLines(this.logPath(), 10);
    const output = last.length > 0 ? `; last output:\n${last.join('\n')}` : '; it printed nothing';
    const message = `back-off ${seconds}s restarting: exited ${exits} times within 10 minutes${output}`;
    return { state: 'Waiting', reason: 'CrashLoopBackOff', message };
  }

  /** A start that failed before any process ran (pip, a missing command): say why, retry with backoff. */
  private async startFailed(err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    this.ctx.logger.warn({ replicaId: this.replicaId, err }, 'replica could not start');
    this.appendToLog(`[gantry] replica could not start: ${message}`);
    const wait = this.tracker.nextRetryDelay();
    if (this.volumePreload?.status === 'InProgress') this.volumePreload = { ...this.volumePreload, status: 'Failed' };
    const retrying = `${message}\n(retrying in ${wait / 1000}s)`;
    this.setPhase({ state: 'Waiting', reason: 'CreateContainerError', message: retrying });
    await sleep(wait, this.abort.signal);
  }

  /** Gives back GPUs, port and token; removes or keeps the record as the stop asked. */
  private async release(): Promise<void> {
    if (this.gpus) this.ctx.gpus.release(this.gpus);
    this.gpus = undefined;
    this.ctx.ports.release(this.port);
    if (this.stopMode?.forget) this.ctx.files.removeReplica(this.replicaId);
    else this.persist(undefined);
    this.setPhase({ state: 'Terminated', reason: 'Stopped' });
    // Always revoke: a replica adopted after a restart holds a token the previous server issued.
    await this.ctx.tokens.revoke(this.spec.deploymentId, this.replicaId).catch((err: unknown) => {
      this.ctx.logger.warn({ err, replicaId: this.replicaId }, 'could not revoke the replica token');
    });
  }

  // ---- helpers ----

  private setPhase(phase: Phase): void {
    this.phase = phase;
    this.onChange();
  }

  private persist(handle: ProcessHandle | undefined): void {
    if (this.stopMode?.forget && !handle) return;
    this.ctx.files.writeReplica({
      replicaId: this.replicaId,
      deploymentId: this.spec.deploymentId,
      number: this.number,
      spec: this.spec,
      port: this.port,
      gpus: this.gpus,
      pid: handle?.pid,
      pidStartTime: handle?.startTime,
      incarnation: handle ? this.incarnation : undefined,
      startedAt: this.startedAt,
      readySince: this.readySince,
      restarts: this.restarts,
    });
  }

  private logPath(): string {
    return this.ctx.files.logPath(this.replicaId);
  }

  private appendToLog(line: string): void {
    mkdirSync(this.ctx.files.replicaDir(this.replicaId), { recursive: true, mode: 0o700 });
    appendFileSync(this.logPath(), `${line}\n`, { mode: 0o600 });
  }

  private now(): string {
    return isoTime(this.ctx.options.clock.now());
  }
}

function exitedPhase(ended: Ended, seconds: number): Phase {
  let how = 'ended'; // an adopted process: its exit status went to its new parent
  if (ended.code !== undefined) how = `exited with code ${ended.code}`;
  else if (ended.signal) how = `was killed by ${ended.signal}`;
  const reason = ended.code === 0 ? 'Completed' : 'Error';
  return { state: 'Terminated', reason, message: `${how}; restarting in ${seconds}s` };
}

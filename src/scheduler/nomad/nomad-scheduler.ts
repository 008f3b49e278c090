import type { NomadClient } from '../../clients/nomad/index.js';
import { isEnforceIndexConflict, isNomadError, isScaleBlocked, isTransient } from '../../clients/nomad/http.js';
import type { AllocListStub, Evaluation, Job } from '../../clients/nomad/types.js';
import type { GpuCatalog } from '../../deployments/gpu-catalog.js';
import type { WorkloadPath, WorkloadSecrets } from '../../secrets/workload-secrets.js';
import type { Clock } from '../../shared/clock.js';
import { parseGoDuration } from '../../shared/duration.js';
import type { Logger } from '../../shared/logger.js';
import type { JobSpec, LogLine, LogOptions, ReplicaExit, ReplicaStatus, Scheduler, VolumeMountSpec } from '../scheduler.js';
import { UnsupportedSpecError } from '../scheduler.js';
import { ExitWatcher } from './exit-watcher.js';
import { incarnationsOf } from './incarnations.js';
import { JobDirectory, versionInfoOf } from './job-directory.js';
import { allocLogLines } from './log-stream.js';
import { merge } from './merge.js';
import { replicaOf, unplacedReplicas } from './replica-status.js';
import { RevisionTokenSweeper, type DeploymentTokens } from './revision-tokens.js';
import { GROUP_NAME, type ClusterSettings } from './settings.js';
import type { VolumeFile } from './task.js';
import { jobIdOfSpec, META_REVISION, translateJob } from './translate.js';

/**
 * The tokens Nomad allocations use as TOGETHER_API_KEY. Nomad creates allocations itself, so a token is
 * scoped to the deployment (one per revision), not to a replica; a worker's claims are bound to its
 * allocation through the `hostname` it reports, which is its allocation id (compat.md §8.2).
 */
export type { DeploymentTokens } from './revision-tokens.js';

/**
 * The files of a mounted volume version, each with a URL an artifact block of the deployment's job can
 * download it from whenever Nomad places an allocation (no expiry; revoked with the deployment).
 */
export interface VolumeFiles {
  filesOf(volume: VolumeMountSpec, deploymentId: string): Promise<VolumeFile[]>;
}

export interface NomadSchedulerOptions {
  client: NomadClient;
  settings: ClusterSettings;
  gpus: GpuCatalog;
  secrets: WorkloadSecrets;
  tokens: DeploymentTokens;
  volumes: VolumeFiles;
  clock: Clock;
  logger: Logger;
  /** Blocking-query wait of the allocation watches (default: 300 s). */
  watchWaitMs?: number;
}

const TERMINAL = new Set(['complete', 'failed', 'lost']);
const live = (a: AllocListStub) => a.DesiredStatus === 'run' && !TERMINAL.has(a.ClientStatus);
/** Shown as replicas: live allocations, and failed ones until Nomad replaces them. */
const shown = (a: AllocListStub) => a.DesiredStatus === 'run' && !a.NextAllocation && a.ClientStatus !== 'complete';
const allocIndex = (a: AllocListStub) => Number(/\[(\d+)\]$/.exec(a.Name)?.[1] ?? -1);
const ATTEMPTS = 5;

/** Deployments as Nomad jobs (one task group, one docker task) over Nomad's HTTP API. */
export class NomadScheduler implements Scheduler {
  private readonly directory: JobDirectory;
  private readonly listeners = new Set<(exit: ReplicaExit) => void>();
  private readonly watcher: ExitWatcher;
  private readonly revisions: RevisionTokenSweeper;
  private readonly incarnationAsks = new Map<string, Promise<Map<string, string>>>();
  private killTimeoutCapMs: number | undefined;

  constructor(private readonly o: NomadSchedulerOptions) {
    this.directory = new JobDirectory(o.client);
    this.revisions = new RevisionTokenSweeper({ client: o.client, directory: this.directory, tokens: o.tokens, logger: o.logger });
    this.watcher = new ExitWatcher({
      client: o.client,
      clock: o.clock,
      logger: o.logger,
      waitMs: o.watchWaitMs ?? 300_000,
      describe: (a) => this.describe(a),
      emit: (exit) => this.emit(exit),
      settled: (deploymentId) => this.revisions.poke(deploymentId),
    });
  }

  /** Learns the agent's kill-timeout cap and starts watching allocations. */
  async start(): Promise<void> {
    const self = await this.o.client.agent.self().catch((err: unknown) => {
      this.o.logger.warn({ err }, 'cannot read the Nomad agent configuration; max_kill_timeout unknown');
      return undefined;
    });
    const cap = self?.data.config?.Client?.MaxKillTimeout;
    this.killTimeoutCapMs = cap ? parseGoDuration(cap) : undefined;
    await this.directory.refresh();
    this.watcher.start();
  }

  async close(): Promise<void> {
    await this.watcher.stop();
    await this.revisions.settled();
  }

  async apply(spec: JobSpec): Promise<void> {
    const gpu = this.o.gpus.get(spec.gpuType);
    if (!gpu) throw new UnsupportedSpecError(`gpu_type "${spec.gpuType}" is not in this server's GPU catalog`);
    this.warnAboutKillTimeout(spec);
    const jobId = jobIdOfSpec(spec);
    this.directory.remember(spec.deploymentId, jobId);
    const volumes = await Promise.all(spec.volumes.map(async (v) => ({ name: v.name, mountPath: v.mountPath, version: v.version, files: await this.o.volumes.filesOf(v, spec.deploymentId) })));
    const job = translateJob({ spec, gpu, settings: this.o.settings, secretsPath: this.o.secrets.templatePath(this.path(jobId)), volumes });
    const created = !(await this.readJob(jobId));
    try {
      await this.registerWithSecrets(spec, jobId, job);
      this.revisions.poke(spec.deploymentId); // an old revision with no allocation left needs no token
    } catch (err) {
      // A job Nomad refused to create leaves nothing behind: no secrets, no token.
      if (created && !(await this.readJob(jobId))) await this.forgetSecrets(spec.deploymentId, jobId);
      throw refusal(jobId, err);
    }
  }

  private async registerWithSecrets(spec: JobSpec, jobId: string, job: Job): Promise<void> {
    let secretsWritten = false;
    for (let attempt = 1; ; attempt++) {
      const existing = await this.readJob(jobId);
      if (!secretsWritten && (!existing || existing.Stop || existing.Meta?.[META_REVISION] !== spec.revisionId)) {
        await this.writeSecrets(spec, jobId);
        secretsWritten = true;
      }
      const registered = await this.register(job, existing, attempt);
      if (registered) return this.followCount(spec, registered);
    }
  }

  private async forgetSecrets(deploymentId: string, jobId: string): Promise<void> {
    await this.o.secrets.remove(this.path(jobId));
    await this.o.tokens.revoke(deploymentId);
  }

  async scale(deploymentId: string, count: number): Promise<void> {
    const jobId = await this.directory.jobIdOf(deploymentId);
    if (!jobId) return;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const job = await this.readJob(jobId);
      if (!job || job.Stop || job.TaskGroups[0]!.Count === count) return;
      try {
        await this.o.client.jobs.scale(jobId, { Count: count, Target: { Group: GROUP_NAME }, Message: `gantry: desired replicas ${count}` });
        return;
      } catch (err) {
        if (isScaleBlocked(err) || (isNomadError(err, 400) && /scaling policy/.test(err.body))) {
          if (await this.scaleByRegister(job, count, attempt)) return;
        } else if (!isEnforceIndexConflict(err)) throw err;
      }
    }
    throw new Error(`scaling Nomad job ${jobId} to ${count} kept conflicting with other writers`);
  }

  async stop(deploymentId: string): Promise<void> {
    const jobId = await this.directory.jobIdOf(deploymentId);
    if (!jobId) return;
    const allocs = (await this.o.client.jobs.allocations(jobId)).data.filter(live);
    await this.o.client.jobs.deregister(jobId, true).catch((err: unknown) => {
      if (!isNomadError(err, 404)) throw err;
    });
    for (const a of allocs) await this.reportStopped(deploymentId, jobId, a);
    this.directory.forget(deploymentId);
    await this.forgetSecrets(deploymentId, jobId);
  }

  async replicas(deploymentId: string): Promise<ReplicaStatus[]> {
    const jobId = await this.directory.jobIdOf(deploymentId);
    if (!jobId) return [];
    const [job, allocs, evals] = await Promise.all([this.readJob(jobId), this.o.client.jobs.allocations(jobId), this.o.client.jobs.evaluations(jobId)]);
    if (!job || job.Stop) return [];
    const now = this.o.clock.now();
    const replicas = await Promise.all(
      allocs.data.filter(shown).sort((a, b) => allocIndex(a) - allocIndex(b)).map(async (alloc) => {
        const version = await this.directory.version(jobId, alloc.JobVersion);
        const address = alloc.ClientStatus === 'running' ? await this.directory.address(alloc.ID) : undefined;
        return replicaOf({ alloc, deploymentId, version, address, now });
      }),
    );
    const missing = job.TaskGroups[0]!.Count - replicas.filter((r) => r.state !== 'Terminated').length;
    const unplaced = missing > 0 ? unplacedReplicas(latest(evals.data), GROUP_NAME, deploymentId, versionInfoOf(job)) : [];
    return [...replicas, ...unplaced.slice(0, missing)];
  }

  /** Concurrent asks for one deployment (every worker poll and status update asks) share one listing. */
  incarnations(deploymentId: string): Promise<Map<string, string>> {
    let asked = this.incarnationAsks.get(deploymentId);
    if (asked) return asked;
    asked = this.listIncarnations(deploymentId).finally(() => this.incarnationAsks.delete(deploymentId));
    this.incarnationAsks.set(deploymentId, asked);
    return asked;
  }

  private async listIncarnations(deploymentId: string): Promise<Map<string, string>> {
    const jobId = await this.directory.jobIdOf(deploymentId);
    return jobId ? incarnationsOf((await this.o.client.jobs.allocations(jobId)).data) : new Map();
  }

  async scaleDownOrder(deploymentId: string): Promise<string[]> {
    const jobId = await this.directory.jobIdOf(deploymentId);
    if (!jobId) return [];
    const { data } = await this.o.client.jobs.allocations(jobId);
    return data.filter(live).sort((a, b) => allocIndex(b) - allocIndex(a)).map((a) => a.ID);
  }

  async *logs(deploymentId: string, options: LogOptions): AsyncIterable<LogLine[]> {
    const jobId = await this.directory.jobIdOf(deploymentId);
    if (!jobId) return;
    const { data } = await this.o.client.jobs.allocations(jobId);
    const allocs = data.filter((a) => shown(a) && (!options.replicaId || a.ID === options.replicaId)).sort((a, b) => allocIndex(a) - allocIndex(b));
    const follow = options.follow ?? false;
    const streams = allocs.flatMap((a) =>
      (['stdout', 'stderr'] as const).map((stream) => allocLogLines(this.o.client, { allocId: a.ID, stream, follow, signal: options.signal, watchWaitMs: 30_000 })),
    );
    yield* merge(streams);
  }

  onReplicaExit(listener: (exit: ReplicaExit) => void): () => void {
    this.listeners.add(listener);
    this.watcher.start();
    return () => this.listeners.delete(listener);
  }

  private path(jobId: string): WorkloadPath {
    return { namespace: this.o.settings.namespace, jobId };
  }

  /** The secret environment, with the deployment's worker token, goes to Vault before the job that reads it. */
  private async writeSecrets(spec: JobSpec, jobId: string): Promise<void> {
    const token = await this.o.tokens.issue(spec.deploymentId, spec.revisionId);
    await this.o.secrets.put(this.path(jobId), { ...spec.secretEnv, TOGETHER_API_KEY: token });
  }

  private async readJob(jobId: string): Promise<Job | undefined> {
    try {
      return (await this.o.client.jobs.info(jobId)).data;
    } catch (err) {
      if (isNomadError(err, 404)) return undefined;
      throw err;
    }
  }

  /**
   * Registers with EnforceIndex (no lost update between control-plane replicas) and PreserveCounts (a
   * redeploy keeps the running count). Returns the count Nomad kept, or undefined after a lost race.
   */
  private async register(job: Job, existing: Job | undefined, attempt: number): Promise<{ kept: number } | undefined> {
    const current = existing && !existing.Stop ? existing.TaskGroups[0]!.Count : undefined;
    const bounds = job.TaskGroups[0]!.Scaling!;
    const preserve = current !== undefined && current >= bounds.Min && current <= bounds.Max;
    try {
      await this.o.client.jobs.register({ Job: job, EnforceIndex: true, JobModifyIndex: existing?.JobModifyIndex ?? 0, PreserveCounts: preserve });
      return { kept: preserve ? current : job.TaskGroups[0]!.Count };
    } catch (err) {
      if (isEnforceIndexConflict(err) && attempt < ATTEMPTS) return undefined;
      throw err;
    }
  }

  /** The spec's count is Gantry's durable desired count: apply it when the preserved one differs. */
  private async followCount(spec: JobSpec, registered: { kept: number }): Promise<void> {
    if (registered.kept !== spec.replicas) await this.scale(spec.deploymentId, spec.replicas);
  }

  /**
   * Nomad refuses `/scale` during an active deployment (hashicorp.md §6.5). Rather than wait for a rollout
   * that may take an hour, the count is changed by re-registering the job as it is with the new count
   * (and bounds wide enough for it). Returns false after a lost race (the caller re-reads).
   */
  private async scaleByRegister(job: Job, count: number, attempt: number): Promise<boolean> {
    const group = job.TaskGroups[0]!;
    const scaling = group.Scaling ? { ...group.Scaling, Min: Math.min(group.Scaling.Min, count), Max: Math.max(group.Scaling.Max, count) } : undefined;
    const next: Job = { ...job, TaskGroups: [{ ...group, Count: count, ...(scaling ? { Scaling: scaling } : {}) }] };
    try {
      await this.o.client.jobs.register({ Job: next, EnforceIndex: true, JobModifyIndex: job.JobModifyIndex ?? 0, PreserveCounts: false });
      return true;
    } catch (err) {
      if (isEnforceIndexConflict(err) && attempt < ATTEMPTS) return false;
      throw err;
    }
  }

  private async reportStopped(deploymentId: string, jobId: string, a: AllocListStub): Promise<void> {
    if (this.watcher.reported.has(a.ID)) return;
    this.watcher.reported.add(a.ID);
    const { revisionId } = await this.directory.version(jobId, a.JobVersion);
    this.emit({ deploymentId, replicaId: a.ID, revisionId, code: undefined, signal: 'SIGTERM', at: new Date(this.o.clock.now()).toISOString() });
  }

  private async describe(a: AllocListStub): Promise<{ deploymentId: string; revisionId: string } | undefined> {
    const deploymentId = await this.directory.deploymentOf(a.JobID);
    if (!deploymentId) return undefined;
    return { deploymentId, revisionId: (await this.directory.version(a.JobID, a.JobVersion)).revisionId };
  }

  private emit(exit: ReplicaExit): void {
    for (const listener of this.listeners) listener(exit);
  }

  /** Nomad clients cap kill_timeout with max_kill_timeout (30 s by default): say so when the grace is longer. */
  private warnAboutKillTimeout(spec: JobSpec): void {
    const cap = this.killTimeoutCapMs;
    if (cap === undefined || spec.terminationGracePeriodSeconds * 1000 <= cap) return;
    this.o.logger.warn(
      { deploymentId: spec.deploymentId, gracePeriodSeconds: spec.terminationGracePeriodSeconds, maxKillTimeoutSeconds: cap / 1000 },
      'the Nomad client caps kill_timeout below this deployment’s termination grace period; raise client.max_kill_timeout (see README, cluster)',
    );
  }
}

/**
 * Nomad's refusal of the job itself (a 400, or the 500 its validators answer) becomes an UnsupportedSpecError,
 * which the API reports as a 400 with Nomad's words; transient failures and lost races stay what they are.
 */
function refusal(jobId: string, err: unknown): unknown {
  if (!isNomadError(err) || err.status === 0 || isTransient(err) || isEnforceIndexConflict(err)) return err;
  if (err.status !== 400 && err.status !== 500) return err;
  return new UnsupportedSpecError(`Nomad refused job ${jobId}: ${err.body.trim()}`, { cause: err });
}

/** The most recent evaluation that is not a blocked one (blocked evals carry no placement metrics). */
function latest(evals: Evaluation[]): Evaluation | undefined {
  return evals.filter((e) => e.Status !== 'blocked').sort((a, b) => b.CreateIndex - a.CreateIndex)[0];
}

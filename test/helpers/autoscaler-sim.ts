import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { Autoscaler, type Ticker } from '../../src/autoscaler/autoscaler.js';
import type { MetricsFetcher } from '../../src/autoscaler/custom-metric.js';
import { registerAutoscalerMetrics } from '../../src/autoscaler/metrics.js';
import { ScalingEvents } from '../../src/autoscaler/scaling-events.js';
import { DirectoryBlobStore } from '../../src/blobs/directory/directory-blob-store.js';
import { RequestStats } from '../../src/deployments/request-stats.js';
import type { Autoscaling, DeploymentRecord } from '../../src/deployments/types.js';
import type { QueueEvents } from '../../src/queue/events.js';
import { JobStore } from '../../src/queue/job-store.js';
import { JobQueue } from '../../src/queue/queue.js';
import { WriteBatcher } from '../../src/queue/write-batcher.js';
import { createLogger } from '../../src/shared/logger.js';
import { MemoryStateStore } from '../doubles/memory-state-store.js';
import { SimScheduler } from '../doubles/sim-scheduler.js';
import { FakeClock } from './test-server.js';

/**
 * A deterministic simulation of one deployment under the real Autoscaler and the real JobQueue: a fake
 * clock moved in steps, scripted load, and a scheduler double whose replicas take `startupMs` to become
 * ready and then work as Sprocket workers do (poll, take a job, report it done `jobMs` later). Used by
 * the autoscaler tests and by `npm run bench:autoscaler`.
 */
export interface SimOptions {
  min: number;
  max: number;
  /** Replicas running at the start (default: min). */
  initial?: number;
  /** Default: QueueBacklogPerWorker with target 1. */
  policy?: Autoscaling | null;
  /** How long a new replica takes to become ready (default: 0). */
  startupMs?: number;
  stabilizationMs?: number;
  /** The autoscaler's tick (default: 1000). */
  intervalMs?: number;
  /** false: the autoscaler hears no queue events and acts on its tick only (the usual alternative). */
  eventDriven?: boolean;
  /** Simulated time per step (default: 100 ms). */
  stepMs?: number;
  fetcher?: MetricsFetcher;
}

export interface SimReport {
  /** Backlog appears (a submit needs more replicas than run) → the scale-up call, in simulated ms. */
  reactionMs: number[];
  /** The same in wall-clock ms (the code path's own latency). */
  reactionWallMs: number[];
  replicaSeconds: number;
  /** Seconds of job work: what perfectly sized, instantly started replicas would use. */
  idealReplicaSeconds: number;
  /** Submit → claim per job, simulated ms. */
  waitsMs: number[];
  jobsDone: number;
  /** Claims lost because a scale-down stopped a busy replica (a drain must keep this 0). */
  lostClaims: number;
  scaleCalls: Array<{ at: number; count: number }>;
}

const DEP = 'dep_sim';

export class AutoscalerSim {
  readonly clock = new FakeClock();
  readonly state = new MemoryStateStore();
  readonly events = new ScalingEvents(this.state);
  readonly requests = new RequestStats(this.clock);
  readonly scheduler: SimScheduler;
  readonly queue: JobQueue;
  readonly autoscaler: Autoscaler;
  readonly record: DeploymentRecord;
  private readonly blobDir = mkdtempSync(path.join(tmpdir(), 'gantry-sim-'));
  private readonly ticks: Array<{ fn: () => void; every: number; next: number }> = [];
  private readonly waits: number[] = [];
  private readonly reaction: number[] = [];
  private readonly reactionWall: number[] = [];
  private episode: { at: number; wall: number } | undefined;
  private workMs = 0;
  private done = 0;

  private constructor(private readonly options: SimOptions) {
    this.record = simRecord(options);
    this.queue = new JobQueue({
      store: new JobStore(this.state, new DirectoryBlobStore(this.blobDir), new WriteBatcher(this.state)),
      clock: this.clock,
      logger: createLogger({ level: 'silent' }),
      settings: { leaseSweepMs: 3_600_000, claimCeilingMs: 24 * 3_600_000, maxOutputBytes: 1 << 20, retentionMs: 86_400_000 },
    });
    this.scheduler = new SimScheduler(this.clock, options.startupMs ?? 0, this.queue, () => this.closeEpisode());
    this.autoscaler = this.buildAutoscaler();
    this.queue.events.on('job:claimed', (e) => this.waits.push(e.waitedMs));
  }

  static async create(options: SimOptions): Promise<AutoscalerSim> {
    const sim = new AutoscalerSim(options);
    await sim.queue.start();
    await sim.scheduler.scale(DEP, sim.record.desired_replicas);
    sim.scheduler.scaleCalls.length = 0;
    await sim.autoscaler.start();
    return sim;
  }

  get deploymentId(): string {
    return DEP;
  }

  /** Submits `count` jobs at once (as concurrent clients would), each taking `jobMs` of a replica's time. */
  async submit(count: number, jobMs: number): Promise<void> {
    this.openEpisode(count);
    this.workMs += count * jobMs;
    const one = () => this.queue.submit({ deploymentId: DEP, model: 'sim', payload: { jobMs }, info: {}, priority: 0, maxRetries: 3 });
    await Promise.all(Array.from({ length: count }, one));
    await this.autoscaler.settled();
  }

  /** A direct HTTP request that took `ms` (HTTP policies), as the proxy records it. */
  request(ms: number): void {
    this.requests.record(DEP, ms);
  }

  /** Moves simulated time by `ms`, step by step: ticks, workers finishing and claiming, evaluations. */
  async run(ms: number, each?: (now: number) => Promise<void>): Promise<void> {
    const step = this.options.stepMs ?? 100;
    for (let t = 0; t < ms; t += step) {
      this.clock.advance(step);
      await each?.(this.clock.now());
      for (const tick of this.ticks.filter((t) => this.clock.now() >= t.next)) {
        tick.next += tick.every;
        tick.fn();
      }
      this.done += await this.scheduler.work(DEP);
      await this.autoscaler.settled();
      if (this.needed(0) <= this.record.desired_replicas) this.episode = undefined; // the backlog went by itself
    }
  }

  report(): SimReport {
    return {
      reactionMs: [...this.reaction],
      reactionWallMs: [...this.reactionWall],
      replicaSeconds: this.scheduler.replicaMs() / 1000,
      idealReplicaSeconds: this.workMs / 1000,
      waitsMs: [...this.waits],
      jobsDone: this.done,
      lostClaims: this.scheduler.lostClaims,
      scaleCalls: [...this.scheduler.scaleCalls],
    };
  }

  async close(): Promise<void> {
    await this.autoscaler.close();
    await this.queue.close();
    rmSync(this.blobDir, { recursive: true, force: true });
  }

  private buildAutoscaler(): Autoscaler {
    const ticker: Ticker = (fn, every) => {
      const tick = { fn, every, next: this.clock.now() + every };
      this.ticks.push(tick);
      return () => this.ticks.splice(this.ticks.indexOf(tick), 1);
    };
    const queue = this.options.eventDriven === false ? { ...pick(this.queue), events: new EventEmitter() as QueueEvents } : this.queue;
    return new Autoscaler({
      deployments: new SimDeployments(this.record),
      scheduler: this.scheduler,
      queue,
      requests: this.requests,
      events: this.events,
      metrics: registerAutoscalerMetrics(new Registry()),
      clock: this.clock,
      logger: createLogger({ level: 'silent' }),
      settings: { intervalMs: this.options.intervalMs ?? 1000, stabilizationMs: this.options.stabilizationMs ?? 60_000 },
      ticker,
      ...(this.options.fetcher ? { fetcher: this.options.fetcher } : {}),
    });
  }

  /** A backlog episode opens when the queue needs more replicas than are desired (and max allows more). */
  private openEpisode(extra: number): void {
    if (!this.episode && this.needed(extra) > this.record.desired_replicas) this.episode = { at: this.clock.now(), wall: performance.now() };
  }

  /** The replicas the queue (plus `extra` jobs) needs at the policy's target, within max. */
  private needed(extra: number): number {
    const target = this.record.autoscaling?.metric === 'QueueBacklogPerWorker' ? this.record.autoscaling.target : 1;
    return Math.min(this.record.max_replicas, Math.ceil((this.queue.metrics(DEP).total_jobs + extra) / target));
  }

  private closeEpisode(): void {
    if (!this.episode) return;
    this.reaction.push(this.clock.now() - this.episode.at);
    this.reactionWall.push(performance.now() - this.episode.wall);
    this.episode = undefined;
  }
}

/** The queue seen without its events (the tick-only baseline). */
function pick(queue: JobQueue) {
  return {
    metrics: (id: string) => queue.metrics(id),
    setDraining: (id: string, ids: Iterable<string>) => queue.setDraining(id, ids),
    claimsHeldBy: (id: string, replicaId: string) => queue.claimsHeldBy(id, replicaId),
  };
}

/** The deployment's record, held in memory (the autoscaler brings the scheduler to its count). */
class SimDeployments {
  constructor(private readonly current: DeploymentRecord) {}

  async record(id: string): Promise<DeploymentRecord> {
    if (id !== this.current.id) throw Object.assign(new Error(`no deployment ${id}`), { code: 'GANTRY_ERR_DEPLOYMENT_NOT_FOUND' });
    return { ...this.current };
  }

  async allRecords(): Promise<DeploymentRecord[]> {
    return [{ ...this.current }];
  }

  async setDesiredReplicas(_id: string, count: number): Promise<number> {
    const desired = Math.min(this.current.max_replicas, Math.max(this.current.min_replicas, count));
    this.current.desired_replicas = desired;
    return desired;
  }
}

function simRecord(options: SimOptions): DeploymentRecord {
  const policy = options.policy === undefined ? { metric: 'QueueBacklogPerWorker' as const, target: 1, model: 'sim' } : options.policy;
  return {
    id: DEP, name: 'sim', job_id: 'gantry-sim', revision_id: 'rev-1', revision_fingerprint: 'x',
    desired_replicas: options.initial ?? options.min, created_at: '', updated_at: '', previous_names: [], warnings: [],
    description: '', image: 'sim', gpu_type: 'none', gpu_count: 0, cpu: 1, memory: 1, storage: 1,
    min_replicas: options.min, max_replicas: options.max, port: 8000, health_check_path: '/health',
    termination_grace_period_seconds: 300, command: [], args: [], environment_variables: [], volumes: [],
    autoscaling: policy, x_gantry_source: null,
  };
}

import type { RequestStats } from '../deployments/request-stats.js';
import type { ReplicaDiscovery } from '../discovery/discovery.js';
import { SchedulerDiscovery } from '../discovery/scheduler-discovery.js';
import type { DeploymentRecord } from '../deployments/types.js';
import type { JobQueue } from '../queue/queue.js';
import type { ReplicaStatus, Scheduler } from '../scheduler/scheduler.js';
import type { Leadership } from '../coordinator/coordinator.js';
import { isoTime, type Clock } from '../shared/clock.js';
import { appError } from '../shared/errors.js';
import type { TxnOp } from '../state/state-store.js';
import type { Logger } from '../shared/logger.js';
import { CustomMetricSource, type MetricsFetcher } from './custom-metric.js';
import { planDrain } from './drain.js';
import type { AutoscalerMetrics } from './metrics.js';
import { ScaleReconciler } from './scale-reconciler.js';
import type { ScalingEvent, ScalingEvents } from './scaling-events.js';
import { Stabilizer } from './stabilizer.js';
import { decide, type Observation, type Recommendation } from './strategy.js';

/** The roles one deployment's evaluation needs (STYLE rule 1: the narrowest ones). */
export interface ScalerDeps {
  deployments: { setDesiredReplicas(id: string, count: number, fence?: TxnOp): Promise<number> };
  scheduler: Pick<Scheduler, 'replicas' | 'scaleDownOrder' | 'scale'>;
  queue: Pick<JobQueue, 'metrics' | 'setDraining' | 'claimsHeldBy'>;
  requests: Pick<RequestStats, 'window'>;
  events: Pick<ScalingEvents, 'append' | 'forget'>;
  metrics: AutoscalerMetrics;
  clock: Clock;
  logger: Logger;
  fetcher?: MetricsFetcher;
  /** Where CustomMetric scrapes (default: the scheduler's ready replicas). */
  discovery?: ReplicaDiscovery;
  /** The scale-down stabilization window in ms (default: 60 s). */
  stabilizationMs: number;
  /**
   * The leadership this scaler works under: every write carries its fence, and nothing is written or
   * scaled once its signal aborted (an evaluation in progress stops at its next step).
   */
  lease: Pick<Leadership, 'signal' | 'fence'>;
}

/**
 * One deployment's autoscaling state on the leader: the stabilization history, the last good custom
 * metric values, the replicas being drained and those retired by a scale-down but still stopping
 * (both get no job from the queue). `evaluate` is one round: observe → decide → stabilize → act.
 */
export class DeploymentScaler {
  private readonly stabilizer: Stabilizer;
  private readonly custom: CustomMetricSource;
  private readonly discovery: ReplicaDiscovery;
  /** Replicas told to stop claiming, waiting to be idle before the count goes down. */
  private draining: string[] = [];
  /** Replicas a scale-down stopped that the scheduler still lists. */
  private retiring = new Set<string>();
  private lastTrouble: string | undefined;
  private readonly reconciler: ScaleReconciler;

  constructor(
    readonly deploymentId: string,
    private readonly deps: ScalerDeps,
  ) {
    this.stabilizer = new Stabilizer(deps.stabilizationMs);
    this.custom = new CustomMetricSource(deps.fetcher);
    this.discovery = deps.discovery ?? new SchedulerDiscovery(deps.scheduler);
    this.reconciler = new ScaleReconciler(deploymentId, deps);
  }

  /**
   * One round for the record as stored now; `woken` when a submit or request met zero replicas. Ends by
   * bringing the scheduler to the desired count (again, when an earlier call failed).
   */
  async evaluate(record: DeploymentRecord, woken: boolean): Promise<Recommendation> {
    const replicas = await this.deps.scheduler.replicas(record.id);
    this.keepRetiring(replicas);
    const { observation, problems } = await this.observe(record, replicas);
    const depth = this.deps.queue.metrics(record.id).total_jobs;
    const rec = decide({
      policy: record.autoscaling, min: record.min_replicas, max: record.max_replicas,
      current: record.desired_replicas, queueDepth: depth, observation, woken,
    });
    if (problems.length && !rec.held) rec.reason += ` (${problems.join('; ')})`;
    await this.noteTrouble(record, rec, rec.held ?? (problems.length ? problems.join('; ') : undefined));
    const target = this.stabilizer.settle(this.deps.clock.now(), rec.count, record.desired_replicas);
    if (target > rec.count) rec.reason += `; ${this.windowNote(target, rec.count)}`;
    const desired = await this.act(record, target, rec.reason);
    this.deps.queue.setDraining(record.id, [...this.retiring, ...this.draining]);
    this.deps.metrics.observe(record.id, { recommended: rec.count, desired: target, draining: this.draining.length });
    this.assertLeading();
    const running = replicas.filter((r) => r.state !== 'Terminated').length;
    await this.reconciler.reconcile(desired, running, desired !== record.desired_replicas);
    return rec;
  }

  /** Moves the desired count towards `target`; the desired count after this round. */
  private async act(record: DeploymentRecord, target: number, reason: string): Promise<number> {
    if (target > record.desired_replicas) return this.scaleUp(record, target, reason);
    if (target < record.desired_replicas) return this.scaleDown(record, target, reason);
    await this.cancelDrain(record, reason);
    return record.desired_replicas;
  }

  /** The deployment is gone, or this node stopped leading: nothing stays drained. */
  async forget(deleted: boolean): Promise<void> {
    this.deps.queue.setDraining(this.deploymentId, []);
    this.deps.metrics.forget(this.deploymentId);
    if (!deleted) return;
    this.assertLeading();
    await this.deps.events.forget(this.deploymentId, this.deps.lease.fence);
  }

  private async observe(record: DeploymentRecord, replicas: ReplicaStatus[]): Promise<{ observation: Observation; problems: string[] }> {
    const policy = record.autoscaling;
    if (policy?.metric === 'CustomMetric') return this.custom.observe(await this.discovery.healthy(record), policy.custom_metric_name);
    if (policy?.metric === 'HTTPTotalRequests' || policy?.metric === 'HTTPAvgRequestDuration') {
      const window = this.deps.requests.window(record.id, policy.time_interval_minutes);
      const ready = replicas.filter((r) => r.state !== 'Terminated' && r.readySince !== undefined).length;
      return { observation: { kind: 'http', requests: window.count, avgDurationMs: window.avgDurationMs, replicas: ready }, problems: [] };
    }
    return { observation: { kind: 'queue' }, problems: [] };
  }

  private async scaleUp(record: DeploymentRecord, target: number, reason: string): Promise<number> {
    this.draining = [];
    this.deps.queue.setDraining(record.id, [...this.retiring]);
    const to = await this.setDesired(record, target);
    await this.record(record, { event: 'ScaleUp', from: record.desired_replicas, to, reason });
    this.deps.metrics.scaled(record.id, 'up');
    return to;
  }

  /** Drains the replicas the scheduler stops first, and lowers the count as far as they are idle. */
  private async scaleDown(record: DeploymentRecord, target: number, reason: string): Promise<number> {
    const order = (await this.deps.scheduler.scaleDownOrder(record.id)).filter((id) => !this.retiring.has(id));
    const plan = planDrain(order, target, (id) => this.deps.queue.claimsHeldBy(record.id, id));
    // Marked at once, with no await since the claims were counted: no claim can slip in between.
    this.deps.queue.setDraining(record.id, [...this.retiring, ...plan.draining]);
    const busy = plan.scaleTo === undefined ? plan.draining : plan.draining.slice(order.length - plan.scaleTo);
    if (busy.length && !sameSet(busy, this.draining)) {
      await this.record(record, { event: 'Draining', from: record.desired_replicas, to: target, reason: `${reason}; waiting for ${busy.length} replica(s) to finish their jobs`, replicas: busy });
    }
    this.draining = busy;
    if (plan.scaleTo === undefined || plan.scaleTo >= record.desired_replicas) return record.desired_replicas;
    for (const id of order.slice(0, Math.max(0, order.length - plan.scaleTo))) this.retiring.add(id);
    const to = await this.setDesired(record, plan.scaleTo);
    await this.record(record, { event: 'ScaleDown', from: record.desired_replicas, to, reason });
    this.deps.metrics.scaled(record.id, 'down');
    return to;
  }

  /** Saves the desired count under this leadership (the scheduler is brought to it by the reconciler). */
  private async setDesired(record: DeploymentRecord, count: number): Promise<number> {
    this.assertLeading();
    return this.deps.deployments.setDesiredReplicas(record.id, count, this.deps.lease.fence);
  }

  /** Throws GANTRY_ERR_NOT_LEADER once the leadership is over: an evaluation in progress stops there. */
  private assertLeading(): void {
    if (this.deps.lease.signal.aborted) throw appError('GANTRY_ERR_NOT_LEADER', 'this replica no longer leads; the evaluation stopped');
  }

  /** Load came back before the drained replicas were stopped: they take jobs again. */
  private async cancelDrain(record: DeploymentRecord, reason: string): Promise<void> {
    if (this.draining.length === 0) return;
    const replicas = this.draining;
    this.draining = [];
    await this.record(record, { event: 'DrainCanceled', from: record.desired_replicas, to: record.desired_replicas, reason, replicas });
  }

  /**
   * Records a metric that could not be read (the count kept, or computed from replicas' last good
   * values), once per distinct trouble rather than every round.
   */
  private async noteTrouble(record: DeploymentRecord, rec: Recommendation, trouble: string | undefined): Promise<void> {
    if (trouble) this.deps.metrics.metricUnavailable(record.id);
    if (trouble === this.lastTrouble) return;
    this.lastTrouble = trouble;
    if (!trouble) return;
    const reason = rec.held ? rec.reason : `${trouble}; ${rec.count} from the last good values`;
    await this.record(record, { event: 'MetricUnavailable', from: record.desired_replicas, to: rec.count, reason });
  }

  private windowNote(target: number, recommended: number): string {
    const until = this.stabilizer.heldUntil(recommended);
    const when = until === undefined ? '' : ` until ${isoTime(until)}`;
    return `the ${this.deps.stabilizationMs / 1000}s scale-down window holds ${target}${when}`;
  }

  private keepRetiring(replicas: ReplicaStatus[]): void {
    const live = new Set(replicas.filter((r) => r.state !== 'Terminated').map((r) => r.replicaId));
    this.retiring = new Set([...this.retiring].filter((id) => live.has(id)));
  }

  private async record(record: DeploymentRecord, event: Omit<ScalingEvent, 'at'>): Promise<void> {
    const full: ScalingEvent = { at: isoTime(this.deps.clock.now()), ...event };
    this.assertLeading();
    this.deps.logger.info({ deploymentId: record.id, deployment: record.name, ...event }, 'autoscaler');
    await this.deps.events.append(record.id, full, this.deps.lease.fence);
  }
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

import type { DeploymentRecord } from '../deployments/types.js';
import type { JobQueue } from '../queue/queue.js';
import type { Leadership } from '../coordinator/coordinator.js';
import { DeploymentScaler, type ScalerDeps } from './deployment-scaler.js';

/**
 * The autoscaler's loop (compat.md §6, §8.16), leader only. It evaluates a deployment
 *   - at once on every queue change (submit, finish, lost claim) and on a nudge (a submit or a direct
 *     request that met zero replicas: scale from zero waits for no tick), and
 *   - on a periodic tick (default: every second) for what sends no event (metrics, time passing).
 * Evaluations of one deployment never overlap; events that arrive during one are coalesced into one
 * more evaluation after it:
 *
 *            queue event │ nudge │ tick
 *   idle ───────────────────────────────► evaluating ──(done)──► idle
 *                                          │      ▲
 *            more events while evaluating  │      │ one follow-up round
 *                                          └─► follow-up queued
 *
 * Each round (DeploymentScaler): observe → decide (strategy.ts) → stabilization window for scale-down
 * (stabilizer.ts) → act: scale up at once, or drain and then scale down (drain.ts).
 *
 * `start()`/`close()` may be called any number of times (a coordinator starts it on winning leadership
 * and closes it on losing it); a new start rebuilds everything from the StateStore and the scheduler.
 */

export interface AutoscalerSettings {
  /** Periodic evaluation interval in ms (default: 1000). */
  intervalMs: number;
  /** Scale-down stabilization window in ms (default: 60000). */
  stabilizationMs: number;
}

/** Runs `fn` every `ms`; returns a stop function. The simulation harness passes its own. */
export type Ticker = (fn: () => void, ms: number) => () => void;

const intervalTicker: Ticker = (fn, ms) => {
  const timer = setInterval(fn, ms).unref();
  return () => clearInterval(timer);
};

export interface AutoscalerDeps extends Omit<ScalerDeps, 'stabilizationMs' | 'deployments' | 'lease'> {
  deployments: ScalerDeps['deployments'] & {
    record(idOrName: string): Promise<DeploymentRecord>;
    allRecords(): Promise<DeploymentRecord[]>;
  };
  queue: ScalerDeps['queue'] & Pick<JobQueue, 'events'>;
  settings: AutoscalerSettings;
  ticker?: Ticker;
}

export class Autoscaler {
  private readonly scalers = new Map<string, DeploymentScaler>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly followUps = new Map<string, Promise<void>>();
  private readonly woken = new Set<string>();
  private stops: Array<() => void> = [];
  private ticking: Promise<void> | undefined;
  private active = false;
  /** The leadership being served: aborted by its loss or by `close()`, which stops evaluations in progress. */
  private lease: ScalerDeps['lease'] = { signal: AbortSignal.abort() };
  private closing = new AbortController();

  constructor(private readonly deps: AutoscalerDeps) {}

  /**
   * Starts evaluating (on the leader). Stops by itself when `signal` aborts (leadership lost); with the
   * leadership's `fence`, every write it makes holds only while that leadership lasts.
   */
  async start(signal?: AbortSignal, fence?: Leadership['fence']): Promise<void> {
    if (this.active || signal?.aborted) return;
    this.active = true;
    this.closing = new AbortController();
    this.lease = { signal: signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal, ...(fence ? { fence } : {}) };
    this.listen();
    this.stops.push((this.deps.ticker ?? intervalTicker)(() => this.onTick(), this.deps.settings.intervalMs));
    signal?.addEventListener('abort', () => void this.close(), { once: true });
    await this.tick();
  }

  /** Stops evaluating, waits for the rounds in progress, and un-drains every replica. */
  async close(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.closing.abort();
    for (const stop of this.stops.splice(0)) stop();
    await this.settled();
    for (const scaler of this.scalers.values()) await scaler.forget(false);
    this.scalers.clear();
  }

  get isRunning(): boolean {
    return this.active;
  }

  /**
   * Scale from zero: a submit or a direct request found the deployment at zero replicas. Evaluates at
   * once (no tick delay) and resolves when the resulting scale call was made.
   */
  async nudge(deploymentId: string): Promise<void> {
    if (!this.active) return;
    this.woken.add(deploymentId);
    await this.run(deploymentId);
  }

  /** Evaluates every deployment once, and forgets deployments that were deleted. */
  async tick(): Promise<void> {
    if (!this.active) return;
    const records = await this.deps.deployments.allRecords().catch((err: unknown) => {
      this.deps.logger.error({ err }, 'autoscaler: listing deployments failed');
      return undefined;
    });
    if (!records) return;
    const ids = new Set(records.map((r) => r.id));
    for (const [id, scaler] of this.scalers) if (!ids.has(id)) await this.drop(id, scaler);
    await Promise.all(records.map((r) => this.run(r.id)));
  }

  /** Resolves once no tick or evaluation is running or queued (tests and the simulation harness). */
  async settled(): Promise<void> {
    while (this.ticking || this.running.size > 0 || this.followUps.size > 0) {
      await Promise.all([this.ticking, ...this.running.values(), ...this.followUps.values()]);
    }
  }

  /** A tick of the timer; one at a time (a slow round is not stacked on). */
  private onTick(): void {
    if (this.ticking) return;
    this.ticking = this.tick().finally(() => (this.ticking = undefined));
  }

  private listen(): void {
    const events = this.deps.queue.events;
    const onChange = (e: { deploymentId: string }) => void this.run(e.deploymentId);
    for (const name of ['job:submitted', 'job:finished', 'lease:expired'] as const) {
      events.on(name, onChange);
      this.stops.push(() => events.off(name, onChange));
    }
  }

  /** One evaluation now, or, when one is running, one more right after it (coalesced). */
  private run(id: string): Promise<void> {
    if (!this.active) return Promise.resolve();
    const current = this.running.get(id);
    if (!current) {
      const round = this.evaluate(id).finally(() => this.running.delete(id));
      this.running.set(id, round);
      return round;
    }
    let next = this.followUps.get(id);
    if (!next) {
      next = current.then(() => {
        this.followUps.delete(id);
        return this.run(id);
      });
      this.followUps.set(id, next);
    }
    return next;
  }

  private async evaluate(id: string): Promise<void> {
    const started = performance.now();
    try {
      const record = await this.deps.deployments.record(id).catch((err: unknown) => {
        if ((err as { code?: string }).code === 'GANTRY_ERR_DEPLOYMENT_NOT_FOUND') return undefined;
        throw err;
      });
      const scaler = this.scalers.get(id);
      if (!record) return void (scaler && (await this.drop(id, scaler)));
      const woken = this.woken.delete(id);
      await this.scalerOf(id).evaluate(record, woken);
    } catch (err) {
      if (this.lease.signal.aborted || (err as { code?: string }).code === 'GANTRY_ERR_NOT_LEADER') {
        this.deps.logger.info({ deploymentId: id }, 'autoscaler: leadership lost during an evaluation; it stopped without writing or scaling');
      } else this.deps.logger.error({ err, deploymentId: id }, 'autoscaler: evaluation failed; the count is unchanged');
    } finally {
      this.deps.metrics.evaluated((performance.now() - started) / 1000);
    }
  }

  private scalerOf(id: string): DeploymentScaler {
    let scaler = this.scalers.get(id);
    if (!scaler) {
      scaler = new DeploymentScaler(id, { ...this.deps, stabilizationMs: this.deps.settings.stabilizationMs, lease: this.lease });
      this.scalers.set(id, scaler);
    }
    return scaler;
  }

  private async drop(id: string, scaler: DeploymentScaler): Promise<void> {
    this.scalers.delete(id);
    await scaler.forget(true).catch((err: unknown) => {
      this.deps.logger.warn({ err, deploymentId: id }, 'autoscaler: forgetting a deleted deployment\'s scaling events failed');
    });
  }
}

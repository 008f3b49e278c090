import type { Scheduler } from '../scheduler/scheduler.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';

/** Wait before retrying a failed scale call; doubles with every failure in a row, up to MAX_RETRY_MS. */
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

export interface ScaleReconcilerDeps {
  scheduler: Pick<Scheduler, 'scale'>;
  clock: Clock;
  logger: Logger;
}

/**
 * Brings the scheduler to a deployment's saved desired count, every round until it took it. The count is
 * saved first and the scheduler told after, so a failed `scale` (or a leader that died in between) would
 * otherwise leave the scheduler behind for good: the next round sees the saved count and changes nothing,
 * and a deployment woken from zero keeps its jobs waiting. `scale` is idempotent; it is called when
 *   - this round changed the desired count, or
 *   - the count this leader last gave the scheduler is not the desired one, or
 *   - this leader gave it none yet (a new leadership, or the last call failed) and the scheduler runs
 *     another number of replicas than desired,
 * and after a failure not before its backoff (1 s, doubling, at most 30 s) passed.
 */
export class ScaleReconciler {
  /** The count the scheduler took from this leader; undefined before the first call and after a failure. */
  private told: number | undefined;
  private failures = 0;
  private retryAt = 0;

  constructor(
    private readonly deploymentId: string,
    private readonly deps: ScaleReconcilerDeps,
  ) {}

  /**
   * Scales to `desired` when needed: `running` is how many replicas the scheduler lists (not terminated),
   * `changed` whether this round changed the desired count.
   */
  async reconcile(desired: number, running: number, changed: boolean): Promise<void> {
    const needed = changed || (this.told === undefined ? running !== desired : this.told !== desired);
    if (!needed || this.deps.clock.now() < this.retryAt) return;
    try {
      await this.deps.scheduler.scale(this.deploymentId, desired);
      [this.told, this.failures, this.retryAt] = [desired, 0, 0];
    } catch (err) {
      this.told = undefined;
      const waitMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures++);
      this.retryAt = this.deps.clock.now() + waitMs;
      this.deps.logger.warn({ err, deploymentId: this.deploymentId, desired, retryInMs: waitMs }, 'autoscaler: scaling failed; retrying');
    }
  }
}

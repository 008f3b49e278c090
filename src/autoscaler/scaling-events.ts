import { appError } from '../shared/errors.js';
import type { StateStore, TxnOp } from '../state/state-store.js';

/** What the autoscaler did or could not do, as the deployment shows it (`x_gantry_scaling_events`). */
export interface ScalingEvent {
  at: string;
  /** ScaleUp, ScaleDown, Draining, DrainCanceled, MetricUnavailable. */
  event: 'ScaleUp' | 'ScaleDown' | 'Draining' | 'DrainCanceled' | 'MetricUnavailable';
  from: number;
  to: number;
  reason: string;
  /** The replicas being drained (Draining). */
  replicas?: string[];
}

/** How many events a deployment keeps, newest last. */
const KEPT = 20;
const PREFIX = 'autoscaler/events/';

/**
 * The last scaling events of each deployment, in the StateStore (one key per deployment, written only by
 * the leader's autoscaler), so every control-plane replica's Deployments API shows the same.
 */
export class ScalingEvents {
  constructor(private readonly state: StateStore) {}

  async list(deploymentId: string): Promise<ScalingEvent[]> {
    const entry = await this.state.get(PREFIX + deploymentId);
    return entry ? (JSON.parse(entry.value) as ScalingEvent[]) : [];
  }

  /** Adds an event; with the leadership's `fence`, nothing is written once that leadership is over. */
  async append(deploymentId: string, event: ScalingEvent, fence?: TxnOp): Promise<void> {
    const kept = [...(await this.list(deploymentId)), event].slice(-KEPT);
    await this.write({ verb: 'set', key: PREFIX + deploymentId, value: JSON.stringify(kept) }, fence);
  }

  async forget(deploymentId: string, fence?: TxnOp): Promise<void> {
    await this.write({ verb: 'delete', key: PREFIX + deploymentId }, fence);
  }

  private async write(op: TxnOp, fence: TxnOp | undefined): Promise<void> {
    const result = await this.state.txn(fence ? [fence, op] : [op]);
    if (result.ok) return;
    if (fence && result.errors.some((e) => e.opIndex === 0)) {
      throw appError('GANTRY_ERR_NOT_LEADER', 'this replica no longer leads, so it no longer records scaling events; the new leader does');
    }
    throw new Error(`writing scaling events (${op.key}) failed: ${result.errors[0]?.what}`);
  }
}

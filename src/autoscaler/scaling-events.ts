import type { StateStore } from '../state/state-store.js';

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

  async append(deploymentId: string, event: ScalingEvent): Promise<void> {
    const kept = [...(await this.list(deploymentId)), event].slice(-KEPT);
    await this.state.put(PREFIX + deploymentId, JSON.stringify(kept));
  }

  async forget(deploymentId: string): Promise<void> {
    await this.state.delete(PREFIX + deploymentId);
  }
}

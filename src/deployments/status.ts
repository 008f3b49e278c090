import type { ReplicaStatus } from '../scheduler/scheduler.js';
import type { DeploymentRecord, DeploymentStatus, ReplicaEvent } from './types.js';

export interface ObservedState {
  status: DeploymentStatus;
  ready_replicas: number;
  replica_events: Record<string, ReplicaEvent>;
}

/**
 * The deployment's status from what its replicas do (compat.md §8.15). Pure.
 * - ScaledToZero: nothing desired, nothing left running;
 * - Failed: the current revision has replicas, every one of them crash-looping or failed, none ready;
 * - Updating: replicas of an older revision remain, or none of the current revision is ready yet (but
 *   Scaling when the autoscaler has just brought a deployment at zero back: `scaledFromZero`);
 * - Scaling: the ready count differs from the desired count, or extra replicas are still stopping;
 * - Ready: otherwise.
 */
export function observe(record: DeploymentRecord, replicas: ReplicaStatus[], scaledFromZero = false): ObservedState {
  const current = replicas.filter((r) => r.revisionId === record.revision_id && r.state !== 'Terminated');
  const ready = current.filter((r) => r.readySince !== undefined).length;
  const old = replicas.filter((r) => r.revisionId !== record.revision_id && r.state !== 'Terminated');
  return {
    status: statusOf(record.desired_replicas, current, ready, old.length, scaledFromZero),
    ready_replicas: ready,
    replica_events: Object.fromEntries(replicas.map((r) => [r.replicaId, eventOf(r)])),
  };
}

function statusOf(desired: number, current: ReplicaStatus[], ready: number, oldCount: number, fromZero: boolean): DeploymentStatus {
  if (desired === 0 && current.length === 0 && oldCount === 0) return 'ScaledToZero';
  if (current.length > 0 && ready === 0 && current.every(isFailing)) return 'Failed';
  if (oldCount > 0 || (desired > 0 && ready === 0)) return fromZero && oldCount === 0 ? 'Scaling' : 'Updating';
  if (ready !== desired || current.length > desired) return 'Scaling';
  return 'Ready';
}

function isFailing(r: ReplicaStatus): boolean {
  return r.reason === 'CrashLoopBackOff' || r.reason === 'Error' || r.reason === 'Failed';
}

function eventOf(r: ReplicaStatus): ReplicaEvent {
  const event: ReplicaEvent = { image: r.image, revision_id: r.revisionId, replica_status: r.state };
  if (r.reason) event.replica_status_reason = r.reason;
  if (r.message) event.replica_status_message = r.message;
  if (r.readySince) event.replica_ready_since = r.readySince;
  if (r.volumePreload) {
    event.volume_preload_status = r.volumePreload.status;
    if (r.volumePreload.startedAt) event.volume_preload_started_at = r.volumePreload.startedAt;
    if (r.volumePreload.completedAt) event.volume_preload_completed_at = r.volumePreload.completedAt;
  }
  return event;
}

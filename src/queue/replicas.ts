import { loseClaimOrRetry } from './claims.js';
import type { QueueState } from './queue-state.js';
import type { JobRecord } from './types.js';

/**
 * The queue as replicas come and go: the drain before a scale-down stops some of them (compat.md
 * §8.16), and the claims of a replica that ended, or that a restart finds gone, released (§8.2).
 */

/**
 * Sets the replicas of a deployment that get no job. A replica taken off the list has its long polls
 * answered at once, so it asks again and gets work.
 */
export function drainReplicas(state: QueueState, deploymentId: string, replicaIds: Iterable<string>): void {
  const next = new Set(replicaIds);
  if (next.size === 0 && !state.queues.has(deploymentId)) return; // nothing drained, nothing to make
  const q = state.queueOf(deploymentId);
  const undrained = new Set([...q.draining].filter((id) => !next.has(id)));
  q.draining.clear();
  for (const id of next) q.draining.add(id);
  for (const w of q.waiters.filter((w) => undrained.has(w.claimant.replicaId ?? ''))) w.resolve(undefined);
}

/** Loses every claim a replica holds (its process ended); returns how many. */
export async function releaseReplicaClaims(state: QueueState, deploymentId: string, replicaId: string, reason: string): Promise<number> {
  const q = state.queueOf(deploymentId);
  const held = [...q.running.values()].filter((r) => r.claim?.replica_id === replicaId);
  let count = 0;
  for (const record of held) {
    const check = (current: JobRecord) => (current.claim?.replica_id === replicaId ? `replica ${replicaId} ${reason}` : undefined);
    if (await loseClaimOrRetry(state, q, record.request_id, check)) count++;
  }
  return count;
}

import { loseClaimOrRetry } from './claims.js';
import { incarnationGone, liveIncarnations } from './incarnations.js';
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

/**
 * Loses the claims a replica holds whose incarnation no longer runs (its process ended; an exit reported
 * late does not touch the claims of the run that replaced it); returns how many.
 */
export async function releaseReplicaClaims(state: QueueState, deploymentId: string, replicaId: string, reason: string): Promise<number> {
  const q = state.queueOf(deploymentId);
  const held = [...q.running.values()].filter((r) => r.claim?.replica_id === replicaId);
  const live = held.length > 0 ? await liveIncarnations(state, deploymentId) : undefined;
  const check = (current: JobRecord) => {
    const claim = current.claim;
    if (claim?.replica_id !== replicaId) return undefined;
    return !live || !claim.incarnation || incarnationGone(claim, live) ? `replica ${replicaId} ${reason}` : undefined;
  };
  let count = 0;
  for (const record of held) if (await loseClaimOrRetry(state, q, record.request_id, check)) count++;
  return count;
}

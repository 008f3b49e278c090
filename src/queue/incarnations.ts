import { loseClaimOrRetry } from './claims.js';
import type { QueueState } from './queue-state.js';
import type { Claim, JobRecord } from './types.js';

/**
 * Claims bound to incarnations (compat.md §8.2). A replica-bound claim records the incarnation of the
 * replica that made it (one run of its process, Scheduler.incarnations). Once that incarnation no longer
 * runs, the claim is lost at once (requeued in its place, `retries` + 1), whether the replica stopped,
 * restarted under the same name, or the server restarted meanwhile. An adopted replica keeps its
 * incarnation, so it keeps its claims and its late `done` is accepted.
 */

/** The deployment's running incarnations, or undefined when unknown (no scheduler, or it failed to answer). */
export async function liveIncarnations(state: QueueState, deploymentId: string): Promise<Map<string, string> | undefined> {
  if (!state.deps.incarnations) return undefined;
  try {
    return await state.deps.incarnations(deploymentId);
  } catch (err) {
    state.deps.logger.warn({ err, deploymentId }, 'the scheduler did not say which replicas run; claims are kept for now');
    return undefined;
  }
}

/** Why a claim's incarnation no longer runs, given the deployment's running ones; undefined while it runs. */
export function incarnationGone(claim: Claim, live: Map<string, string>): string | undefined {
  const replicaId = claim.replica_id;
  if (!replicaId) return undefined;
  const running = live.get(replicaId);
  if (running === undefined) return `replica ${replicaId} no longer runs`;
  if (claim.incarnation && claim.incarnation !== running) {
    return `replica ${replicaId} was restarted: incarnation ${claim.incarnation} is gone, ${running} runs now`;
  }
  return undefined;
}

/**
 * Loses every replica-bound claim whose incarnation no longer runs, asking the scheduler once per
 * deployment (the rebuild after a restart, and a periodic sweep for exits nobody reported). Returns how many.
 */
export async function releaseGoneIncarnations(state: QueueState): Promise<number> {
  let count = 0;
  for (const q of [...state.queues.values()]) {
    const bound = [...q.running.values()].filter((r) => r.claim?.replica_id);
    const live = bound.length > 0 ? await liveIncarnations(state, q.deploymentId) : undefined;
    if (!live) continue;
    for (const seen of bound) {
      // Judged only as it was when the scheduler was asked: a newer claim is the next sweep's to judge.
      const check = (current: JobRecord) => (current === seen ? incarnationGone(current.claim!, live) : undefined);
      if (check(seen) && (await loseClaimOrRetry(state, q, seen.request_id, check))) count++;
    }
  }
  return count;
}

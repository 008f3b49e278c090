import type { DeploymentQueue } from './deployment-queue.js';
import type { QueueState } from './queue-state.js';
import { commit } from './transition.js';
import { lost, released } from './transitions.js';
import type { JobRecord } from './types.js';

/**
 * Claims that end without an outcome: lost (lease expired, replica or incarnation gone: the job goes
 * back to its original place with one more retry, or fails, compat.md §8.2) and released (the claim's
 * answer never reached the worker: back without a retry). Each runs as one transition of its job.
 */

/** Why a running job's claim is lost now, or undefined when it still holds. */
export type LossCheck = (current: JobRecord) => string | undefined;

/** Loses a running job's claim if `check`, asked once the job's earlier transitions ended, says why. */
export function loseClaim(state: QueueState, q: DeploymentQueue, requestId: string, check: LossCheck): Promise<boolean> {
  return q.exclusive(requestId, () => loseHeldClaim(state, q, requestId, check));
}

/** `loseClaim` for a caller already inside the job's `exclusive()`. */
export async function loseHeldClaim(state: QueueState, q: DeploymentQueue, requestId: string, check: LossCheck): Promise<boolean> {
  const current = q.running.get(requestId);
  const reason = current && check(current);
  if (!current || !reason) return false;
  const next = lost(current, reason, state.deps.clock.now());
  await commit(state, q, next);
  state.events.emit('lease:expired', { deploymentId: q.deploymentId, requestId, reason });
  state.deps.logger.warn({ requestId, reason, status: next.status }, 'claim lost');
  return true;
}

/**
 * Loses a claim like `loseClaim`; when the write fails, the claim is marked lost in memory so the lease
 * sweep writes it again, and the caller goes on (a replica's exit, the rebuild's check of its replicas).
 */
export async function loseClaimOrRetry(state: QueueState, q: DeploymentQueue, requestId: string, check: LossCheck): Promise<boolean> {
  const judged = q.running.get(requestId);
  const reason = judged && check(judged);
  try {
    return await loseClaim(state, q, requestId, check);
  } catch (err) {
    const current = q.running.get(requestId);
    const deadline = q.deadlines.get(requestId);
    if (reason && deadline && current?.claimed_at === judged.claimed_at) deadline.lost = reason;
    state.deps.logger.error({ err, requestId }, 'writing a lost claim failed; the lease sweep tries again');
    return false;
  }
}

/** Puts a running job back at its place without counting a retry, if `claimant` still holds it. */
export function releaseClaim(state: QueueState, q: DeploymentQueue, requestId: string, claimant: string): Promise<void> {
  return q.exclusive(requestId, async () => {
    const current = q.running.get(requestId);
    if (current?.claim?.claimant !== claimant) return;
    try {
      await commit(state, q, released(current));
    } catch (err) {
      // A claim nobody works on: the sweep releases it (transition.ts, settleUnsure).
      q.unsure.set(requestId, { written: current, claim: true });
      throw err;
    }
  });
}

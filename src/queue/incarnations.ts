import { loseClaimOrRetry } from './claims.js';
import type { QueueState } from './queue-state.js';
import type { Claim, Claimant, JobRecord } from './types.js';

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

/** Allowance for the network between a worker's idle clock and this server's clock. */
const IDLE_SLACK_MS = 2_000;

/**
 * A replica's worker that polls saying it has been idle for `idleSeconds` (x-idle-time; both SDKs send
 * it, and run one job at a time) works on nothing. The claims its incarnation made before it went idle
 * were finished or given up without an outcome reaching the server (a `done` dropped while the control
 * plane was down): they are lost claims, requeued at once rather than held for the ceiling.
 */
export async function loseAbandonedClaims(state: QueueState, claimant: Claimant, deploymentId: string, idleSeconds: number | undefined): Promise<void> {
  if (!claimant.replicaId || idleSeconds === undefined || !(idleSeconds >= 0)) return;
  const q = state.queueOf(deploymentId);
  const idleSince = state.deps.clock.now() - idleSeconds * 1000 - IDLE_SLACK_MS;
  const abandoned = (r: JobRecord): string | undefined => {
    const claim = r.claim;
    if (claim?.claimant !== claimant.key || (claim.incarnation ?? claimant.incarnation) !== claimant.incarnation) return undefined;
    if (Date.parse(r.claimed_at ?? r.created_at) >= idleSince) return undefined;
    return `replica ${claimant.replicaId} asked for a new job, idle for ${idleSeconds.toFixed(1)}s: it no longer works on this one, and its outcome never arrived`;
  };
  for (const r of [...q.running.values()]) if (abandoned(r)) await loseClaimOrRetry(state, q, r.request_id, abandoned);
}

import { appError } from '../shared/errors.js';
import type { DeploymentQueue } from './deployment-queue.js';
import type { QueueState } from './queue-state.js';
import { commit } from './transition.js';
import { canceled } from './transitions.js';

/**
 * Cancellation (compat.md §8.4, §8.5): a pending job is written canceled and leaves its queue; a running
 * one (Gantry's `x_gantry_running`) is written canceled at once, and its worker hears of it on its next
 * status update (the queue answers 409 `GANTRY_ERR_JOB_CANCELED`).
 */

export type CancelOutcome = { canceled: true } | { canceled: false; status: string };

/** Pending → canceled; with `running`, running → canceled too; otherwise the current status, for a 409. */
export function cancelJob(state: QueueState, q: DeploymentQueue, requestId: string, options: { running?: boolean }): Promise<CancelOutcome> {
  return q.exclusive(requestId, async () => {
    const current = q.running.get(requestId) ?? (await state.deps.store.load(q.deploymentId, requestId));
    if (!current) throw appError('GANTRY_ERR_JOB_NOT_FOUND', `no job ${requestId} in this deployment's queue`, { param: 'request_id' });
    const cancelable = current.status === 'pending' || (current.status === 'running' && options.running === true);
    if (!cancelable) return { canceled: false, status: current.status };
    const now = state.deps.clock.now();
    await commit(state, q, canceled(current, now));
    if (current.status === 'running') emitCanceled(state, q, requestId, now - Date.parse(current.claimed_at ?? current.created_at));
    return { canceled: true };
  });
}

/** Cancels every pending job of a deployment; returns how many. */
export async function clearPending(state: QueueState, q: DeploymentQueue): Promise<number> {
  let count = 0;
  for (const id of q.pending.ids()) if ((await cancelJob(state, q, id, {})).canceled) count++;
  return count;
}

function emitCanceled(state: QueueState, q: DeploymentQueue, requestId: string, ranMs: number): void {
  state.events.emit('job:finished', { deploymentId: q.deploymentId, requestId, status: 'canceled', ranMs });
}

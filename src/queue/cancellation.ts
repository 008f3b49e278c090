import { isoTime } from '../shared/clock.js';
import { appError } from '../shared/errors.js';
import type { DeploymentQueue } from './deployment-queue.js';
import type { QueueState } from './queue-state.js';
import type { JobRecord } from './types.js';

/**
 * Cancellation (compat.md §8.4, §8.5): a pending job is taken out of its queue and written canceled; a
 * running one (Gantry's `x_gantry_running`) is written canceled at once, and its worker hears of it on
 * its next status update (the queue answers 409 `GANTRY_ERR_JOB_CANCELED`).
 */

export type CancelOutcome = { canceled: true } | { canceled: false; status: string };

/** Pending → canceled; with `running`, running → canceled too; otherwise the current status, for a 409. */
export async function cancelJob(
  state: QueueState,
  deploymentId: string,
  requestId: string,
  options: { running?: boolean },
): Promise<CancelOutcome> {
  const q = state.queueOf(deploymentId);
  const running = q.running.get(requestId);
  if (running && options.running) return cancelRunning(state, q, running);
  if (!q.pending.remove(requestId)) {
    const status = q.state(requestId) ?? (await state.deps.store.load(deploymentId, requestId))?.status;
    if (!status) throw appError('GANTRY_ERR_JOB_NOT_FOUND', `no job ${requestId} in this deployment's queue`, { param: 'request_id' });
    return { canceled: false, status };
  }
  await finishPending(state, deploymentId, requestId);
  return { canceled: true };
}

/** Cancels every pending job of a deployment; returns how many. */
export async function clearPending(state: QueueState, deploymentId: string): Promise<number> {
  const q = state.queueOf(deploymentId);
  const ids = q.pending.ids();
  for (const id of ids) q.pending.remove(id);
  for (const id of ids) await finishPending(state, deploymentId, id);
  return ids.length;
}

async function cancelRunning(state: QueueState, q: DeploymentQueue, record: JobRecord): Promise<{ canceled: true }> {
  const now = state.deps.clock.now();
  q.running.delete(record.request_id);
  record.status = 'canceled';
  record.done_at = isoTime(now);
  delete record.claim;
  await state.deps.store.save(record);
  const ranMs = now - Date.parse(record.claimed_at ?? record.created_at);
  state.events.emit('job:finished', { deploymentId: q.deploymentId, requestId: record.request_id, status: 'canceled', ranMs });
  return { canceled: true };
}

/** Writes a job, already out of the pending heap, as canceled. */
async function finishPending(state: QueueState, deploymentId: string, requestId: string): Promise<void> {
  const record = await state.deps.store.load(deploymentId, requestId);
  if (!record) return;
  record.status = 'canceled';
  record.done_at = isoTime(state.deps.clock.now());
  await state.deps.store.save(record);
}

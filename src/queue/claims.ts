import { isoTime } from '../shared/clock.js';
import type { DeploymentQueue, Waiter } from './deployment-queue.js';
import type { QueueState } from './queue-state.js';
import type { Claimant, JobRecord } from './types.js';

/**
 * Claims: a job handed to a worker (marked running, written, announced) and a claim lost (lease
 * expired, replica gone), which puts the job back at its original place or fails it.
 */

/** Who claims, with the lease it asked for (`claim_timeout`) or its default one; a Waiter is one. */
export interface ClaimTerms {
  claimant: Claimant;
  claimTimeoutSeconds: number | undefined;
  defaultLeaseSeconds: number | undefined;
}

/** Marks a job running for a claimant, in memory; the caller writes it. */
export function applyClaim(state: QueueState, q: DeploymentQueue, record: JobRecord, terms: ClaimTerms): void {
  const { claimant, claimTimeoutSeconds, defaultLeaseSeconds } = terms;
  const now = state.deps.clock.now();
  const leaseSeconds = claimTimeoutSeconds ?? (claimant.replicaId ? undefined : (defaultLeaseSeconds ?? 300));
  record.status = 'running';
  record.claimed_at = isoTime(now);
  record.claim = {
    claimant: claimant.key,
    ...(claimant.replicaId ? { replica_id: claimant.replicaId } : {}),
    ...(claimant.hostname ? { hostname: claimant.hostname } : {}),
    ...(leaseSeconds !== undefined ? { lease_seconds: leaseSeconds, lease_until: now + leaseSeconds * 1000 } : {}),
  };
  q.running.set(record.request_id, record);
  q.claiming.delete(record.request_id);
}

/** Marks a job running for a claimant, writes it, and announces the claim. */
export async function markClaimed(state: QueueState, q: DeploymentQueue, record: JobRecord, terms: ClaimTerms): Promise<JobRecord> {
  applyClaim(state, q, record, terms);
  await state.deps.store.save(record);
  emitClaimed(state, q, record);
  return record;
}

export function emitClaimed(state: QueueState, q: DeploymentQueue, record: JobRecord): void {
  const waitedMs = Date.parse(record.claimed_at!) - Date.parse(record.created_at);
  state.events.emit('job:claimed', { deploymentId: q.deploymentId, requestId: record.request_id, waitedMs });
}

/** A durable pending job goes to the oldest waiting worker, else into the heap. */
export function enqueue(state: QueueState, record: JobRecord): void {
  const q = state.queueOf(record.deployment_id);
  const waiter = q.nextWaiter();
  if (!waiter) return q.pending.push({ id: record.request_id, priority: record.priority, seq: record.seq });
  waiter.reserve();
  q.claiming.set(record.request_id, waiter.claimant.replicaId);
  markClaimed(state, q, record, waiter).then(waiter.resolve, (err: unknown) => failHandOff(state, q, record, waiter, err));
}

function failHandOff(state: QueueState, q: DeploymentQueue, record: JobRecord, waiter: Waiter, err: unknown): void {
  state.deps.logger.error({ err, requestId: record.request_id }, 'handing a job to a worker failed');
  q.claiming.delete(record.request_id);
  q.pending.push({ id: record.request_id, priority: record.priority, seq: record.seq });
  waiter.resolve(undefined);
}

/** A running job back to pending, written, then handed out again; a `reason` means its claim was lost. */
export async function requeue(state: QueueState, record: JobRecord, reason: string | undefined): Promise<void> {
  const q = state.queueOf(record.deployment_id);
  q.running.delete(record.request_id);
  record.status = 'pending';
  delete record.claim;
  delete record.claimed_at;
  await state.deps.store.save(record);
  enqueue(state, record);
  if (reason) state.deps.logger.warn({ requestId: record.request_id, reason }, 'claim lost; job requeued');
}

/** A lost claim: back to its original place with one more retry, or failed once retries are used up. */
export async function loseClaim(state: QueueState, record: JobRecord, reason: string): Promise<void> {
  const q = state.queueOf(record.deployment_id);
  if (q.running.get(record.request_id) !== record) return;
  const history = Array.isArray(record.info.retry_history) ? record.info.retry_history : [];
  record.info = { ...record.info, retry_history: [...history, { at: isoTime(state.deps.clock.now()), reason }] };
  state.events.emit('lease:expired', { deploymentId: record.deployment_id, requestId: record.request_id, reason });
  if (record.retries >= record.max_retries) return failLost(state, q, record, reason);
  record.retries += 1;
  await requeue(state, record, reason);
}

async function failLost(state: QueueState, q: DeploymentQueue, record: JobRecord, reason: string): Promise<void> {
  q.running.delete(record.request_id);
  record.status = 'failed';
  record.done_at = isoTime(state.deps.clock.now());
  record.info = { ...record.info, error: `the job's claim was lost ${record.retries + 1} times (max_retries ${record.max_retries}); last: ${reason}` };
  delete record.claim;
  await state.deps.store.save(record);
}

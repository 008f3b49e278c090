import { appError } from '../shared/errors.js';
import { loseHeldClaim } from './claims.js';
import type { DeploymentQueue } from './deployment-queue.js';
import { incarnationGone, liveIncarnations } from './incarnations.js';
import type { QueueState } from './queue-state.js';
import { commit } from './transition.js';
import { finished, renewed, type Outcome } from './transitions.js';
import { TERMINAL, type Claim, type Claimant, type JobRecord, type JsonObject } from './types.js';

/**
 * Workers' status updates (compat.md §3.5): `running` renews a claim, `done`/`failed` finish the job.
 * Only the holder of the claim is heard: the same claimant and, for a replica, the same incarnation. An
 * update for a claim whose incarnation no longer runs loses that claim on the spot and is refused.
 * A repeat of the outcome already recorded is accepted from whoever reported it, and refused from anyone
 * else: the first acknowledged outcome of a job is never overwritten.
 */

export interface StatusUpdate {
  deploymentId: string;
  requestId: string;
  claimant: Claimant;
  status: 'running' | 'done' | 'failed';
  payload: JsonObject | undefined;
  info: JsonObject | undefined;
}

export function applyUpdate(state: QueueState, input: StatusUpdate): Promise<'applied' | 'repeated'> {
  const q = state.queueOf(input.deploymentId);
  return q.exclusive(input.requestId, async () => {
    const record = q.running.get(input.requestId);
    if (!record) return updateOfNotRunning(state, input);
    const claim = record.claim!;
    if (holderOf(claim.claimant) !== holderOf(input.claimant.key)) {
      throw notHeld(input.requestId, `it is claimed by another worker (${describe(claim)})`);
    }
    await refuseGoneIncarnation(state, q, record, claim);
    const now = state.deps.clock.now();
    if (input.status === 'running') await commit(state, q, renewed(record, input.info, now));
    else await finish(state, q, record, input, now);
    return 'applied';
  });
}

/** The claim's incarnation no longer runs: the update comes from a replaced process. Lose the claim, refuse. */
async function refuseGoneIncarnation(state: QueueState, q: DeploymentQueue, record: JobRecord, claim: Claim): Promise<void> {
  if (!claim.incarnation) return;
  const live = await liveIncarnations(state, q.deploymentId);
  const gone = live && incarnationGone(claim, live);
  if (!gone) return;
  const lostNow = await loseHeldClaim(state, q, record.request_id, (current) => (current === record ? gone : undefined));
  const then = lostNow ? 'the job went back to the queue' : 'the claim is lost';
  throw notHeld(record.request_id, `it is held by incarnation ${claim.incarnation} of replica ${claim.replica_id}, and ${gone}; ${then}`);
}

async function finish(state: QueueState, q: DeploymentQueue, record: JobRecord, input: StatusUpdate, now: number): Promise<void> {
  const outcome = input.status === 'done' ? await outputsOf(state, record, input.payload ?? {}) : {};
  const next = finished(record, { status: input.status === 'done' ? 'done' : 'failed', info: input.info, ...outcome }, now);
  await commit(state, q, next);
  const ranMs = now - Date.parse(record.claimed_at ?? record.created_at);
  state.events.emit('job:finished', { deploymentId: q.deploymentId, requestId: record.request_id, status: next.status, ranMs });
}

/** Outputs as kept: inline, in the BlobStore (written first), or refused as over the limit. */
async function outputsOf(state: QueueState, record: JobRecord, outputs: JsonObject): Promise<Pick<Outcome, 'outputs' | 'outputsRef' | 'error'>> {
  const { maxOutputBytes } = state.deps.settings;
  const size = Buffer.byteLength(JSON.stringify(outputs));
  if (size > maxOutputBytes) return { error: `outputs are ${size} bytes, over the limit of ${maxOutputBytes}` };
  const ref = await state.deps.store.offload(record, 'outputs', outputs);
  return ref ? { outputsRef: ref } : { outputs };
}

/** An update for a job this leader does not hold as running: a repeat by its reporter, else a clear refusal. */
async function updateOfNotRunning(state: QueueState, input: StatusUpdate): Promise<'repeated'> {
  const record = await state.deps.store.load(input.deploymentId, input.requestId);
  if (!record) throw appError('GANTRY_ERR_JOB_NOT_FOUND', `no job ${input.requestId} in this deployment's queue`, { param: 'request_id' });
  if (record.status === 'canceled') {
    throw appError('GANTRY_ERR_JOB_CANCELED', `job ${input.requestId} was canceled; stop working on it`, { param: 'request_id' });
  }
  if (record.status === input.status && TERMINAL.has(record.status) && (await reportedBy(state, record, input.claimant))) return 'repeated';
  if (record.status === 'pending') throw notHeld(input.requestId, 'it went back to the queue after its claim was lost');
  const by = record.done_by ? `, reported by ${describe(record.done_by)}` : '';
  throw notHeld(input.requestId, `it is already ${record.status}${by}`);
}

/** Whether `claimant` reported the recorded outcome (records written before `done_by` existed: anyone). */
async function reportedBy(state: QueueState, record: JobRecord, claimant: Claimant): Promise<boolean> {
  const by = record.done_by;
  if (!by) return true;
  if (holderOf(by.claimant) !== holderOf(claimant.key)) return false;
  if (!by.incarnation || !claimant.replicaId) return true;
  const running = (await liveIncarnations(state, record.deployment_id))?.get(claimant.replicaId);
  return running === undefined || running === by.incarnation;
}

function notHeld(requestId: string, why: string): Error {
  return appError('GANTRY_ERR_JOB_NOT_HELD', `job ${requestId} is not held by this worker: ${why}`, { param: 'request_id' });
}

/** A claim's holder in words: its replica and incarnation, or its key's worker. */
function describe(holder: { claimant: string; replica_id?: string; incarnation?: string }): string {
  const replica = holder.replica_id ?? (holder.claimant.startsWith('replica:') ? holder.claimant.slice('replica:'.length) : undefined);
  const incarnation = holder.incarnation ? `, incarnation ${holder.incarnation}` : '';
  return replica ? `replica ${replica}${incarnation}` : `a worker of key ${holderOf(holder.claimant).slice('key:'.length)}`;
}

/**
 * The part of a claimant's identity a status update can prove: the replica, or the key. Sprocket sends
 * the hostname only when it polls, so updates from a key-based worker are matched on the key alone.
 */
function holderOf(claimant: string): string {
  const at = claimant.indexOf('@');
  return claimant.startsWith('key:') && at !== -1 ? claimant.slice(0, at) : claimant;
}

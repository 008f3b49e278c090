import { monotonicNow } from '../shared/clock.js';
import { isAppError } from '../shared/errors.js';
import type { Deadline, DeploymentQueue, Waiter } from './deployment-queue.js';
import type { Pending } from './priority-queue.js';
import type { QueueState } from './queue-state.js';
import { claimed, released, type ClaimTerms } from './transitions.js';
import type { JobRecord } from './types.js';

/**
 * The one rule of every queue transition: durable first, then memory. `commit()` writes a job's next
 * record and only once the write succeeded puts it in memory. When the write fails:
 * - refused before anything was written (a lost fence, GANTRY_ERR_NOT_LEADER, or a record too large):
 *   nothing changes; a lost leadership steps the queue down;
 * - any other error: the outcome of a failed write is unknown (a store may commit and still throw), so
 *   the record is read back. Written after all: the transition succeeded. Not written: memory takes what
 *   the store holds (what it held before) and the caller gets the error. Unreadable too: the job is
 *   marked unsure, memory keeps its last durable state, and the next sweep settles it from the store.
 * Callers run inside the job's `exclusive()`, so the record they start from is the stored one.
 */

/** Errors that say the write was refused before anything was written. */
const REFUSED_UNWRITTEN: ReadonlySet<string> = new Set(['GANTRY_ERR_NOT_LEADER', 'GANTRY_ERR_JOB_PAYLOAD_TOO_LARGE']);

/** Writes `next` and then puts it in memory; `claim` marks a claim a worker may never hear of. */
export async function commit(state: QueueState, q: DeploymentQueue, next: JobRecord, claim = false): Promise<void> {
  try {
    await state.deps.store.save(next);
  } catch (err) {
    if (!(await writtenAfterAll(state, q, next, claim, err))) throw err;
  }
  q.unsure.delete(next.request_id);
  apply(state, q, next);
}

/**
 * Puts a durable record in memory; a pending one goes to a waiting worker when there is one. `rebuilt`
 * (a record read back by a new leadership's rebuild) gives a running lease at least one lease period from
 * now: its worker could not renew while no server was leading.
 */
export function apply(state: QueueState, q: DeploymentQueue, record: JobRecord, rebuilt = false): void {
  q.place(record, record.status === 'running' ? deadlineOf(state, record, rebuilt) : undefined);
  if (record.status === 'pending') handOut(state, q);
}

/**
 * Claims a job popped from the heap for a claimant: the job, or undefined when it is no longer pending
 * (canceled meanwhile). On an error the job is back in the heap unless the store says otherwise.
 */
export async function claim(state: QueueState, q: DeploymentQueue, entry: Pending, terms: ClaimTerms): Promise<JobRecord | undefined> {
  q.claiming.set(entry.id, terms.claimant.replicaId);
  const record = await q.exclusive(entry.id, () => claimHeld(state, q, entry.id, terms)).catch((err: unknown) => {
    q.claiming.delete(entry.id);
    if (q.state(entry.id) === undefined) q.pending.push(entry);
    throw err;
  });
  q.claiming.delete(entry.id);
  return record;
}

async function claimHeld(state: QueueState, q: DeploymentQueue, requestId: string, terms: ClaimTerms): Promise<JobRecord | undefined> {
  const record = await state.deps.store.load(q.deploymentId, requestId);
  if (record?.status !== 'pending') return undefined;
  const next = claimed(record, terms, state.deps.clock.now());
  await commit(state, q, next, true);
  emitClaimed(state, q, next);
  return next;
}

export function emitClaimed(state: QueueState, q: DeploymentQueue, record: JobRecord): void {
  const waitedMs = Date.parse(record.claimed_at!) - Date.parse(record.created_at);
  state.events.emit('job:claimed', { deploymentId: q.deploymentId, requestId: record.request_id, waitedMs });
}

/** Hands pending jobs to waiting workers, oldest waiter first (a pending job never waits beside a waiter). */
export function handOut(state: QueueState, q: DeploymentQueue): void {
  while (q.pending.size > 0) {
    const waiter = q.nextWaiter();
    if (!waiter) return;
    waiter.reserve();
    void claimNext(state, q, waiter); // pops its first job before it returns
  }
}

/** The next pending job for a reserved waiter; the waiter hears undefined when none is left or the claim failed. */
async function claimNext(state: QueueState, q: DeploymentQueue, waiter: Waiter): Promise<void> {
  try {
    for (let entry = q.pending.pop(); entry; entry = q.pending.pop()) {
      const record = await claim(state, q, entry, waiter);
      if (record) return waiter.resolve(record);
    }
    waiter.resolve(undefined);
  } catch (err) {
    state.deps.logger.error({ err }, 'handing a job to a worker failed');
    waiter.resolve(undefined);
  }
}

/** Removes a job from memory (it is no longer in the store). */
export function forget(q: DeploymentQueue, requestId: string): void {
  q.pending.remove(requestId);
  q.running.delete(requestId);
  q.deadlines.delete(requestId);
}

/** Settles, from the store, every job whose last write had an unknown outcome. */
export async function settleUnsure(state: QueueState, q: DeploymentQueue): Promise<void> {
  for (const id of [...q.unsure.keys()]) {
    await q.exclusive(id, () => settle(state, q, id)).catch((err: unknown) => {
      state.deps.logger.error({ err, requestId: id }, 'settling a queue write of unknown outcome failed; the next sweep tries again');
    });
  }
}

async function settle(state: QueueState, q: DeploymentQueue, requestId: string): Promise<void> {
  const unsure = q.unsure.get(requestId);
  if (!unsure) return;
  const stored = await state.deps.store.load(q.deploymentId, requestId);
  q.unsure.delete(requestId);
  if (!stored) return forget(q, requestId);
  // A claim written for a worker that was answered with an error: nobody works on it.
  if (unsure.claim && sameRecord(stored, unsure.written)) return commit(state, q, released(stored));
  apply(state, q, stored);
}

async function writtenAfterAll(state: QueueState, q: DeploymentQueue, next: JobRecord, claim: boolean, err: unknown): Promise<boolean> {
  if (isAppError(err) && REFUSED_UNWRITTEN.has(err.code)) return false;
  let stored: JobRecord | undefined;
  try {
    stored = await state.deps.store.load(q.deploymentId, next.request_id);
  } catch (readErr) {
    q.unsure.set(next.request_id, { written: next, claim });
    state.deps.logger.error({ err: readErr, requestId: next.request_id }, 'a queue write failed and could not be read back; the sweep settles it');
    return false;
  }
  if (stored && sameRecord(stored, next)) return true;
  if (stored) apply(state, q, stored);
  return false;
}

/** When the claim of a running record ends without news, on this process's monotonic clock. */
function deadlineOf(state: QueueState, record: JobRecord, rebuilt: boolean): Deadline {
  const { clock, settings } = state.deps;
  const mono = monotonicNow(clock);
  const wall = clock.now();
  const ceilingAt = Date.parse(record.claimed_at ?? record.created_at) + settings.claimCeilingMs;
  const left = leaseLeftMs(record, wall, rebuilt);
  return { lease: left === undefined ? undefined : mono + left, ceiling: mono + (ceilingAt - wall) };
}

/** How long a record's lease has left, in ms; after a rebuild, at least one whole lease period. */
function leaseLeftMs(record: JobRecord, wall: number, rebuilt: boolean): number | undefined {
  const claim = record.claim;
  if (claim?.lease_until === undefined) return undefined;
  const left = claim.lease_until - wall;
  return rebuilt && claim.lease_seconds !== undefined ? Math.max(left, claim.lease_seconds * 1000) : left;
}

function sameRecord(a: JobRecord, b: JobRecord): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

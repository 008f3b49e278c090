import { isoTime } from '../shared/clock.js';
import type { Claimant, JobRecord, JobStatus, JsonObject } from './types.js';

/**
 * The queue's transitions as pure functions: each takes a job's current record and returns the next one
 * as a new value, leaving the current one untouched. `transition.ts` writes the next record and only then
 * puts it in memory, so a write that fails leaves memory as it was.
 *
 *   submitted ─► pending ─claim─► running ─done/failed─► done | failed
 *                  ▲ │              │ ╰─renew─╯
 *                  │ └─cancel─► canceled ◄─cancel (x_gantry_running)
 *                  └──release (no retry), lost (retries + 1) ─┘  lost past max_retries ─► failed
 */

/** Who claims, with the lease it asked for (`claim_timeout`) or its default one; a Waiter is one. */
export interface ClaimTerms {
  claimant: Claimant;
  claimTimeoutSeconds: number | undefined;
  defaultLeaseSeconds: number | undefined;
}

/** Pending → running for a claimant; a replica that sent no claim_timeout holds it while it lives. */
export function claimed(record: JobRecord, terms: ClaimTerms, now: number): JobRecord {
  const { claimant, claimTimeoutSeconds, defaultLeaseSeconds } = terms;
  const leaseSeconds = claimTimeoutSeconds ?? (claimant.replicaId ? undefined : (defaultLeaseSeconds ?? 300));
  const claim = {
    claimant: claimant.key,
    ...(claimant.replicaId ? { replica_id: claimant.replicaId } : {}),
    ...(claimant.incarnation ? { incarnation: claimant.incarnation } : {}),
    ...(claimant.hostname ? { hostname: claimant.hostname } : {}),
    ...(leaseSeconds !== undefined ? { lease_seconds: leaseSeconds, lease_until: now + leaseSeconds * 1000 } : {}),
  };
  return { ...record, status: 'running', claimed_at: isoTime(now), claim };
}

/** A `running` update: info merged, lease renewed. */
export function renewed(record: JobRecord, info: JsonObject | undefined, now: number): JobRecord {
  const claim = { ...record.claim! };
  if (claim.lease_seconds !== undefined) claim.lease_until = now + claim.lease_seconds * 1000;
  return { ...record, info: merged(record.info, info), claim };
}

/** What a worker's `done`/`failed` leaves in the record besides its status. */
export interface Outcome {
  status: 'done' | 'failed';
  info: JsonObject | undefined;
  outputs?: JsonObject;
  outputsRef?: string;
  /** Why a `done` is recorded failed (its outputs were over the limit). */
  error?: string;
}

/** Running → done or failed, as the worker reported. */
export function finished(record: JobRecord, outcome: Outcome, now: number): JobRecord {
  const next: JobRecord = { ...record, status: outcome.error ? 'failed' : outcome.status, done_at: isoTime(now) };
  next.info = merged(record.info, outcome.info);
  if (outcome.error) next.info = { ...next.info, error: outcome.error };
  if (outcome.outputsRef) next.outputs_ref = outcome.outputsRef;
  else if (outcome.outputs && !outcome.error) next.outputs = outcome.outputs;
  const { claimant, incarnation } = record.claim!;
  next.done_by = { claimant, ...(incarnation ? { incarnation } : {}) };
  delete next.claim;
  return next;
}

/** Pending or running → canceled (compat.md §8.4, §8.5). */
export function canceled(record: JobRecord, now: number): JobRecord {
  return ended(record, 'canceled', now);
}

/** Running → pending at its original place, no retry counted (the claim's answer never reached the worker). */
export function released(record: JobRecord): JobRecord {
  const next: JobRecord = { ...record, status: 'pending' };
  delete next.claim;
  delete next.claimed_at;
  return next;
}

/** A lost claim (compat.md §8.2): back to its place with one more retry, or failed once retries are used up. */
export function lost(record: JobRecord, reason: string, now: number): JobRecord {
  const history = Array.isArray(record.info.retry_history) ? record.info.retry_history : [];
  const info = { ...record.info, retry_history: [...history, { at: isoTime(now), reason }] };
  if (record.retries < record.max_retries) return { ...released(record), info, retries: record.retries + 1 };
  const error = `the job's claim was lost ${record.retries + 1} times (max_retries ${record.max_retries}); last: ${reason}`;
  return { ...ended(record, 'failed', now), info: { ...info, error } };
}

function ended(record: JobRecord, status: JobStatus, now: number): JobRecord {
  const next: JobRecord = { ...record, status, done_at: isoTime(now) };
  delete next.claim;
  return next;
}

function merged(info: JsonObject, update: JsonObject | undefined): JsonObject {
  return update ? { ...info, ...update } : info;
}

import { loseClaim } from './claims.js';
import type { QueueState } from './queue-state.js';
import { TERMINAL, type JobRecord } from './types.js';

/** The leader's periodic sweeps: leases that ended (compat.md §8.2) and finished jobs past retention (§8.19). */

/** Looks for leases that ended and loses their claims. */
export async function expireLeases(state: QueueState): Promise<void> {
  const now = state.deps.clock.now();
  for (const q of state.queues.values()) {
    for (const record of [...q.running.values()]) {
      const why = leaseEnded(state, record, now);
      if (why) await loseClaim(state, record, why);
    }
  }
}

/** Deletes finished jobs older than the retention period; returns how many. */
export async function sweepRetention(state: QueueState): Promise<number> {
  const cutoff = state.deps.clock.now() - state.deps.settings.retentionMs;
  let removed = 0;
  for await (const page of state.deps.store.scan()) {
    for (const r of page) {
      if (!TERMINAL.has(r.status) || !r.done_at || Date.parse(r.done_at) > cutoff) continue;
      await state.deps.store.remove(r);
      removed++;
    }
  }
  return removed;
}

/** Why a running job's claim has ended by `now` (its lease, or the ceiling of a replica-bound claim). */
function leaseEnded(state: QueueState, record: JobRecord, now: number): string | undefined {
  const claim = record.claim;
  if (!claim) return undefined;
  if (claim.lease_until !== undefined && claim.lease_until <= now) return `its lease of ${claim.lease_seconds}s expired without news`;
  const ceiling = Date.parse(record.claimed_at ?? record.created_at) + state.deps.settings.claimCeilingMs;
  if (claim.lease_until === undefined && ceiling <= now) return 'its claim reached the ceiling for replica-bound claims';
  return undefined;
}

import { monotonicNow } from '../shared/clock.js';
import { loseClaim } from './claims.js';
import type { DeploymentQueue } from './deployment-queue.js';
import type { QueueState } from './queue-state.js';
import { settleUnsure } from './transition.js';
import { TERMINAL, type JobRecord } from './types.js';

/** The leader's periodic sweeps: leases that ended (compat.md §8.2) and finished jobs past retention (§8.19). */

/** Settles writes of unknown outcome, then looks for leases that ended and loses their claims. */
export async function expireLeases(state: QueueState): Promise<void> {
  for (const q of state.queues.values()) {
    await settleUnsure(state, q);
    const ended = (record: JobRecord) => leaseEnded(q, record, monotonicNow(state.deps.clock));
    for (const record of [...q.running.values()]) {
      if (!ended(record)) continue;
      await loseClaim(state, q, record.request_id, ended).catch((err: unknown) => {
        state.deps.logger.error({ err, requestId: record.request_id }, 'writing a lost claim failed; the next sweep tries again');
      });
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

/** Why a running job's claim has ended by `now` (monotonic): its lease, or the ceiling of a replica-bound claim. */
function leaseEnded(q: DeploymentQueue, record: JobRecord, now: number): string | undefined {
  const deadline = q.deadlines.get(record.request_id);
  if (!deadline) return undefined;
  if (deadline.lost) return deadline.lost;
  if (deadline.lease !== undefined && deadline.lease <= now) return `its lease of ${record.claim?.lease_seconds}s expired without news`;
  if (deadline.lease === undefined && deadline.ceiling <= now) return 'its claim reached the ceiling for replica-bound claims';
  return undefined;
}

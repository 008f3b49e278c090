import type { TxnOp } from '../state/state-store.js';

/**
 * The Coordinator seam (DESIGN.md): which control-plane replica leads (owns the queue and the autoscaler)
 * and where the leader is, so followers can forward to it. The embedded default is a single node that
 * always leads; the cluster elects one leader with a Consul session and a lock key.
 *
 * Leadership is a lease: `leader:lost` is emitted, and the leadership's signal aborted, the moment this
 * replica can no longer be sure it leads, before any other replica can take over. Leader-only work takes
 * the signal and stops at once.
 */

export interface Leadership {
  /** Aborted when leadership is lost or given up. */
  signal: AbortSignal;
  /** Grows with every acquisition of the lock (Consul's LockIndex): a fencing token. */
  epoch: number;
  /**
   * A StateStore operation that holds exactly while this leadership lasts (the lock key unchanged since it
   * was acquired). Leader-only writes add it to their transactions, so a deposed leader that has not yet
   * heard of its loss cannot commit anything. Absent on the single node, which cannot be deposed.
   */
  fence?: Extract<TxnOp, { verb: 'check-index' }>;
}

export interface CoordinatorEvents {
  'leader:acquired': Leadership;
  'leader:lost': { reason: string };
  /** The leader's advertise URL changed (undefined: no leader right now). */
  'leader:changed': { url: string | undefined };
}

export type CoordinatorEvent = keyof CoordinatorEvents;

export interface Coordinator {
  /** Starts campaigning; resolves once the first round ran (leading or following). */
  start(): Promise<void>;
  /** This replica's leadership, or undefined while following. */
  leadership(): Leadership | undefined;
  /** The current leader's advertise URL (this replica's own when leading). */
  leaderUrl(): string | undefined;
  on<E extends CoordinatorEvent>(event: E, listener: (payload: CoordinatorEvents[E]) => void): () => void;
  /** Steps down (releasing the lock at once) and stops. */
  close(): Promise<void>;
}

import { EventEmitter } from 'node:events';
import { KvTable } from './kv-table.js';
import { reapAfterMs, sessionFromBody, type Session, type SessionLimits } from './sessions.js';
import { ServiceTable } from './services.js';

/**
 * Everything the Consul double holds, and the one raft index every write advances. Blocked queries wait
 * on `changed` and re-run; like Consul, a wake-up is no promise that their result changed.
 */
export class ConsulDoubleState {
  readonly kv = new KvTable();
  readonly services = new ServiceTable();
  readonly sessions = new Map<string, Session>();
  sessionsIndex = 0;
  /** Every request's method and path, in order, for tests that count calls. */
  readonly requests: string[] = [];
  private index = 0;
  private readonly lockDelays = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly events = new EventEmitter();

  constructor(
    readonly node: string,
    readonly limits: SessionLimits,
  ) {
    this.events.setMaxListeners(0);
  }

  /** Allocates the index of one write and wakes blocked queries once it is applied. */
  write<T>(apply: (idx: number) => T): T {
    const idx = ++this.index;
    try {
      return apply(idx);
    } finally {
      this.events.emit('change');
    }
  }

  /** Resolves at the next write or after `ms`, whichever comes first. */
  async changed(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.events.off('change', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.events.on('change', done);
    });
  }

  // ---- sessions ----

  createSession(body: Record<string, unknown>): Session {
    const parsed = sessionFromBody(body, this.node, this.limits);
    return this.write((idx) => {
      const session: Session = { ...parsed, CreateIndex: idx, ModifyIndex: idx };
      this.sessions.set(session.ID, session);
      this.sessionsIndex = idx;
      this.armTimer(session);
      return session;
    });
  }

  renewSession(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (session) this.armTimer(session);
    return session;
  }

  /** Destroys a session, releasing (or deleting) its locks and starting their lock-delay. */
  invalidateSession(id: string): boolean {
    const session = this.sessions.get(id);
    if (!session) return false;
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    this.write((idx) => {
      this.sessions.delete(id);
      this.sessionsIndex = idx;
      for (const entry of this.kv.heldBy(id)) {
        if (session.LockDelay > 0) this.lockDelays.set(entry.Key, Date.now() + session.LockDelay / 1e6);
        if (session.Behavior === 'delete') this.kv.delete(idx, entry.Key);
        else this.kv.releaseHeld(idx, entry.Key);
      }
    });
    return true;
  }

  /** True while an invalidated lock on `key` may not be acquired again. */
  inLockDelay(key: string): boolean {
    const until = this.lockDelays.get(key);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.lockDelays.delete(key);
    return false;
  }

  /** Sessions that name `checkId` lose it when it goes critical, as in Consul. */
  invalidateSessionsOfCheck(checkId: string): void {
    for (const session of [...this.sessions.values()]) {
      const serviceChecks = session.ServiceChecks?.map((c) => c.ID) ?? [];
      if (session.NodeChecks.includes(checkId) || serviceChecks.includes(checkId)) this.invalidateSession(session.ID);
    }
  }

  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private armTimer(session: Session): void {
    const after = reapAfterMs(session, this.limits);
    if (after === undefined) return;
    clearTimeout(this.timers.get(session.ID));
    const timer = setTimeout(() => this.invalidateSession(session.ID), after);
    timer.unref();
    this.timers.set(session.ID, timer);
  }
}

import { EventEmitter } from 'node:events';
import { CheckClock } from './check-clock.js';
import { KvTable } from './kv-table.js';
import { reapAfterMs, SessionError, sessionCheckIds, sessionFromBody, type Session, type SessionLimits } from './sessions.js';
import { ServiceTable, type CheckState, type CheckStatus, type ServiceState } from './services.js';

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
  /** KV entries and key names served by reads (`GET /v1/kv`, txn `get`s), for tests that count what was read. */
  kvItemsRead = 0;
  private index = 0;
  private readonly lockDelays = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly events = new EventEmitter();
  private readonly clock = new CheckClock({
    expire: (checkId) => this.setCheck(checkId, 'critical', 'TTL expired'),
    reap: (serviceId) => this.deregisterService(serviceId),
  });

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
    for (const checkId of sessionCheckIds(parsed)) this.checkUsable(checkId);
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
      if (sessionCheckIds(session).includes(checkId)) this.invalidateSession(session.ID);
    }
  }

  // ---- services and checks ----

  /** Registers (or replaces) a service; checks it no longer has are deregistered. */
  registerService(body: Record<string, unknown>): ServiceState {
    const { service, replaced } = this.write((idx) => this.services.register(idx, body));
    const kept = new Set(service.checks.map((c) => c.CheckID));
    for (const old of replaced?.checks ?? []) if (!kept.has(old.CheckID)) this.checkGone(old.CheckID);
    for (const check of service.checks) this.checkMoved(service, check);
    return service;
  }

  /** Removes a service and its checks (sessions tied to them are invalidated); false when unknown. */
  deregisterService(id: string): boolean {
    const service = this.services.byId.get(id);
    if (!service) return false;
    this.write((idx) => this.services.deregister(idx, id));
    for (const check of service.checks) this.checkGone(check.CheckID);
    return true;
  }

  /** Sets a check's status (re-arming its TTL); false when the check is unknown. */
  setCheck(checkId: string, status: CheckStatus, output = ''): boolean {
    const found = this.write((idx) => this.services.setCheck(idx, checkId, status, output));
    if (found) this.checkMoved(found.service, found.check);
    return found !== undefined;
  }

  private checkMoved(service: ServiceState, check: CheckState): void {
    const critical = check.Status === 'critical';
    this.clock.statusChanged(check.CheckID, service.ID, critical, service.timings.get(check.CheckID) ?? {});
    if (critical) this.invalidateSessionsOfCheck(check.CheckID);
  }

  private checkGone(checkId: string): void {
    this.clock.forget(checkId);
    this.invalidateSessionsOfCheck(checkId);
  }

  /** Consul's `sessionCreateTxn`: every check a session names must exist and not be critical. */
  private checkUsable(checkId: string): void {
    if (checkId === 'serfHealth') return;
    const check = this.services.findCheck(checkId);
    if (!check) throw new SessionError(`Missing check '${checkId}' registration`);
    if (check.Status === 'critical') throw new SessionError(`Check '${checkId}' is in critical state`);
  }

  close(): void {
    this.clock.close();
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

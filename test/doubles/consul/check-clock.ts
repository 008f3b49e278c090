/**
 * The agent-side timers of the Consul double's checks (hashicorp.md §3.6, consul `agent/checks/check.go`
 * `CheckTTL`, `agent/agent.go` reaper): a TTL check that is not updated within its TTL goes `critical` with
 * the output `TTL expired`; any update re-arms it. A service whose check stays critical for its
 * `DeregisterCriticalServiceAfter` is deregistered (Consul's reaper runs every 30 s; the double is exact).
 */

export interface CheckTiming {
  ttlMs?: number;
  deregisterAfterMs?: number;
}

export interface CheckClockHooks {
  expire(checkId: string): void;
  reap(serviceId: string): void;
}

export class CheckClock {
  private readonly ttlTimers = new Map<string, NodeJS.Timeout>();
  private readonly reapTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly hooks: CheckClockHooks) {}

  /** Called after every status change of a check (registration included). */
  statusChanged(checkId: string, serviceId: string, critical: boolean, timing: CheckTiming): void {
    if (timing.ttlMs !== undefined) this.arm(this.ttlTimers, checkId, timing.ttlMs, () => this.hooks.expire(checkId));
    if (!critical || timing.deregisterAfterMs === undefined) return this.disarm(this.reapTimers, checkId);
    if (!this.reapTimers.has(checkId)) this.arm(this.reapTimers, checkId, timing.deregisterAfterMs, () => this.hooks.reap(serviceId));
  }

  forget(checkId: string): void {
    this.disarm(this.ttlTimers, checkId);
    this.disarm(this.reapTimers, checkId);
  }

  close(): void {
    for (const timer of [...this.ttlTimers.values(), ...this.reapTimers.values()]) clearTimeout(timer);
    this.ttlTimers.clear();
    this.reapTimers.clear();
  }

  private arm(timers: Map<string, NodeJS.Timeout>, id: string, ms: number, fire: () => void): void {
    clearTimeout(timers.get(id));
    const timer = setTimeout(() => {
      timers.delete(id);
      fire();
    }, ms);
    timer.unref();
    timers.set(id, timer);
  }

  private disarm(timers: Map<string, NodeJS.Timeout>, id: string): void {
    clearTimeout(timers.get(id));
    timers.delete(id);
  }
}

import type { ConsulClient, KvPair } from '../../clients/consul/index.js';
import type { Logger } from '../../shared/logger.js';
import type { Coordinator, CoordinatorEvent, CoordinatorEvents, Leadership } from '../coordinator.js';
import { CoordinatorEmitter } from '../events.js';
import { sleep } from '../../shared/sleep.js';
import { ElectionCheck } from './election-check.js';

/**
 * Leader election on Consul (hashicorp.md §3.5):
 *
 *   no session ──create (TTL, LockDelay, Checks: [], ServiceChecks: [heartbeat])──► following ──acquire──► leading
 *       ▲                                                                              ▲                   │
 *       └──── renew 404 (session gone) ◄───────────────────────────────────────────────┴── lock lost / lease ┘
 *
 * - `Checks: []`: leadership follows this process, not the agent's node health (`serfHealth`).
 * - The session is also tied to this process's own TTL check (election-check.ts). Every TTL/2 a heartbeat
 *   passes the check and renews the session. A killed leader's check goes critical one TTL after its last
 *   pass and Consul invalidates the session at once, so a new leader serves within TTL + lock-delay; the
 *   session's own TTL (reaped at up to 2 × TTL) only matters when the agent itself is gone too.
 * - The leader keeps a local lease: one TTL from the start of its last successful heartbeat. The agent
 *   cannot expire the check, nor Consul the session, sooner, and nobody can take the lock for LockDelay
 *   after that, so the old leader always stops first. A lapsed lease also gives the session up.
 * - The lock key's value is the leader's advertise URL; every replica watches it with blocking queries,
 *   so followers know where to forward and a leader whose lock is released (session invalidated by a
 *   network cut, key deleted) steps down as soon as Consul tells it.
 */

export interface ConsulCoordinatorOptions {
  client: ConsulClient;
  /** The lock key, in Consul's safe alphabet (e.g. `gantry/leader`). */
  key: string;
  /** This replica's URL, as followers should forward to it. */
  advertiseUrl: string;
  logger: Logger;
  /** Session TTL, seconds; Consul accepts 10–86400 (default: 15). */
  ttlSeconds?: number;
  /** Lock-delay after an invalidation, seconds, 0–60 (default: 5). */
  lockDelaySeconds?: number;
  /** The lock key as the StateStore names it (its prefix removed), for the leadership's fence. */
  fenceKey?: string;
  /** Longest blocking query on the lock key, seconds (default: 30). */
  watchWaitSeconds?: number;
  /** Close `client` on `close()`, when the coordinator owns it (default: false). */
  closeClient?: boolean;
}

const RETRY_MS = 500;
/** Retry of an acquire refused while the lock was free (its lock-delay): short, as it adds to the takeover; Consul refuses such an acquire before raft, so it is cheap. */
const ACQUIRE_RETRY_MS = 50;

export class ConsulCoordinator implements Coordinator {
  private readonly events = new CoordinatorEmitter();
  private readonly ttlMs: number;
  private readonly stop = new AbortController();
  private readonly check: ElectionCheck;
  private session: string | undefined;
  /** Start of the last heartbeat (check pass + session renewal) that succeeded, on the monotonic clock (`performance.now()`): a wall-clock step must not stretch or cut the lease. */
  private beatAt = 0;
  private lead: { leadership: Leadership; controller: AbortController; lockModifyIndex: number } | undefined;
  private url: string | undefined;
  private index = 0;
  private beatTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: ConsulCoordinatorOptions) {
    this.ttlMs = (options.ttlSeconds ?? 15) * 1000;
    this.check = new ElectionCheck(options.client, options.advertiseUrl, this.ttlMs / 1000);
  }

  async start(): Promise<void> {
    if (this.loop) return;
    await this.round();
    this.loop = this.run();
  }

  leadership(): Leadership | undefined {
    return this.lead?.leadership;
  }

  leaderUrl(): string | undefined {
    return this.url;
  }

  on<E extends CoordinatorEvent>(event: E, listener: (payload: CoordinatorEvents[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  async close(): Promise<void> {
    this.stop.abort();
    clearTimeout(this.beatTimer);
    const session = this.session;
    const wasLeading = this.lose('closed');
    await this.loop?.catch(() => undefined);
    if (session) await this.stepDown(session, wasLeading);
    await this.check.deregister().catch(() => undefined);
    if (this.options.closeClient) this.options.client.close();
  }

  /** Releases the lock at once (no lock-delay for an explicit release) and ends the session. */
  private async stepDown(session: string, wasLeading: boolean): Promise<void> {
    const { client, key, advertiseUrl } = this.options;
    if (wasLeading) await client.kv.put(key, Buffer.from(advertiseUrl), { release: session }).catch(() => false);
    await client.sessions.destroy(session).catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        await this.round();
      } catch (err) {
        if (this.stop.signal.aborted) return;
        this.options.logger.warn({ err: (err as Error).message }, 'leader election: Consul call failed; retrying');
        this.index = 0;
        await sleep(RETRY_MS, this.stop.signal);
      }
    }
  }

  /**
   * One look at the lock key (blocking once an index is known), and what follows from it. The session is
   * read once, before the blocking read: the heartbeat may drop it meanwhile, and a round must then not
   * judge or acquire the lock with whatever session there is (or none) afterwards.
   */
  private async round(): Promise<void> {
    const session = await this.ensureSession();
    const wait = `${this.options.watchWaitSeconds ?? 30}s`;
    const res = await this.options.client.kv.get(this.options.key, { ...(this.index > 0 ? { index: this.index, wait } : {}), signal: this.stop.signal });
    // Consul's rule: an index that goes backwards means start over.
    this.index = res.meta.lastIndex < this.index ? 0 : res.meta.lastIndex;
    const entry = res.data;
    const held = entry?.Session !== undefined && entry.Session === session && session === this.session;
    if (this.lead && !held) this.lose('the lock key is no longer held by this replica');
    // Written to by someone else (a plain PUT keeps the holder): the fence no longer matches, lead afresh.
    if (this.lead && entry!.ModifyIndex !== this.lead.lockModifyIndex) this.lose('the lock key was changed under this leadership');
    this.setUrl(entry?.Session ? valueOf(entry) : undefined);
    // Dropped during the read: the next round looks again at once, with a new session.
    if (session !== this.session) return void (this.index = 0);
    if (!entry?.Session || (held && !this.lead)) await this.tryAcquire(session);
  }

  /** Acquires the lock for `session` (never a plain write), and leads if the key then names `session`. */
  private async tryAcquire(session: string): Promise<void> {
    const { client, key, advertiseUrl } = this.options;
    const won = await client.kv.put(key, Buffer.from(advertiseUrl), { acquire: session });
    if (!won) {
      // Held by someone else now, or inside the lock-delay: look again shortly.
      this.index = 0;
      return sleep(ACQUIRE_RETRY_MS, this.stop.signal);
    }
    const { data } = await client.kv.get(key);
    if (data?.Session === session && this.session === session) this.become(data);
  }

  private become(lock: KvPair): void {
    const controller = new AbortController();
    const epoch = lock.LockIndex;
    const { fenceKey } = this.options;
    const fence = fenceKey === undefined ? undefined : ({ verb: 'check-index', key: fenceKey, index: lock.ModifyIndex } as const);
    this.lead = { controller, lockModifyIndex: lock.ModifyIndex, leadership: { signal: controller.signal, epoch, ...(fence ? { fence } : {}) } };
    this.armLease();
    this.setUrl(this.options.advertiseUrl);
    this.options.logger.info({ epoch, url: this.options.advertiseUrl }, 'this replica is now the leader');
    this.events.emit('leader:acquired', this.lead.leadership);
  }

  /** Ends leadership at once (idempotent); true when this replica was leading. */
  private lose(reason: string): boolean {
    const lead = this.lead;
    if (!lead) return false;
    this.lead = undefined;
    clearTimeout(this.leaseTimer);
    lead.controller.abort(new Error(`leadership lost: ${reason}`));
    this.options.logger.warn({ reason }, 'this replica is no longer the leader');
    this.events.emit('leader:lost', { reason });
    if (this.url === this.options.advertiseUrl) this.setUrl(undefined);
    return true;
  }

  /** The current session, made (with its heartbeat) when there is none. */
  private async ensureSession(): Promise<string> {
    if (this.session) return this.session;
    const started = performance.now();
    await this.check.pass();
    const session = await this.options.client.sessions.create({
      Name: `gantry-leader ${this.options.advertiseUrl}`,
      TTL: `${this.ttlMs / 1000}s`,
      LockDelay: `${this.options.lockDelaySeconds ?? 5}s`,
      Behavior: 'release',
      Checks: [],
      ServiceChecks: [{ ID: this.check.checkId }],
    });
    this.session = session;
    this.beatAt = started;
    this.scheduleBeat(this.ttlMs / 2);
    return session;
  }

  private scheduleBeat(ms: number): void {
    clearTimeout(this.beatTimer);
    if (this.stop.signal.aborted) return;
    this.beatTimer = setTimeout(() => void this.beat(), ms);
    this.beatTimer.unref();
  }

  /** Passes the heartbeat check, then renews the session; both must succeed to extend the lease. */
  private async beat(): Promise<void> {
    const session = this.session;
    if (!session) return;
    const started = performance.now();
    try {
      await this.check.pass();
      const renewed = await this.options.client.sessions.renew(session);
      if (this.session !== session) return; // given up meanwhile (lease lapsed); the new session beats itself
      if (!renewed) return void this.dropSession('the Consul session was invalidated');
      this.beatAt = started;
      if (this.lead) this.armLease();
      this.scheduleBeat(this.ttlMs / 2);
    } catch (err) {
      if (this.session !== session) return;
      // Keep trying through transient errors; the lease ends leadership if they last a TTL.
      this.options.logger.warn({ err: (err as Error).message }, 'leader-election heartbeat failed; retrying');
      this.scheduleBeat(Math.min(1_000, this.ttlMs / 4));
    }
  }

  /** The leader's own deadline: one TTL after the start of the last successful heartbeat. */
  private armLease(): void {
    clearTimeout(this.leaseTimer);
    const left = this.beatAt + this.ttlMs - performance.now();
    this.leaseTimer = setTimeout(() => this.leaseLapsed(), Math.max(0, left));
    this.leaseTimer.unref();
  }

  /** Stops leading, and gives the session up: holding the lock without leading would stall everyone. */
  private leaseLapsed(): void {
    const session = this.dropSession(`no heartbeat succeeded for ${this.ttlMs / 1000}s`);
    if (session) void this.options.client.sessions.destroy(session).catch(() => undefined);
  }

  /** Forgets the session (the next round makes a new one) and stops leading; the session it held. */
  private dropSession(reason: string): string | undefined {
    const session = this.session;
    this.session = undefined;
    this.index = 0;
    this.lose(reason);
    return session;
  }

  private setUrl(url: string | undefined): void {
    if (url === this.url) return;
    this.url = url;
    this.events.emit('leader:changed', { url });
  }
}

function valueOf(entry: KvPair): string | undefined {
  return entry.Value ? Buffer.from(entry.Value, 'base64').toString('utf8') : undefined;
}


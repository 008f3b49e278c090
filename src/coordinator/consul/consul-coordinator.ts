import type { ConsulClient, KvPair } from '../../clients/consul/index.js';
import type { Logger } from '../../shared/logger.js';
import type { Coordinator, CoordinatorEvent, CoordinatorEvents, Leadership } from '../coordinator.js';
import { CoordinatorEmitter } from '../events.js';
import { sleep } from '../../shared/sleep.js';

/**
 * Leader election on Consul (hashicorp.md §3.5):
 *
 *   no session ──create (TTL, LockDelay, Checks: [])──► following ──acquire = true──► leading
 *       ▲                                                  ▲                             │
 *       └──── renew 404 (session gone) ◄───────────────────┴──── lock key lost / lease ──┘
 *
 * - The session has `Checks: []`, so leadership follows this process, not the agent's node health.
 * - It is renewed every TTL/2. The leader also keeps a local lease: if no renewal succeeded for a whole
 *   TTL it steps down. Consul invalidates a session no earlier than TTL after its last renewal (it reaps
 *   at up to 2×TTL) and nobody can take the lock for LockDelay after that, so the old leader always
 *   stops first.
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
  /** Longest blocking query on the lock key, seconds (default: 30). */
  watchWaitSeconds?: number;
  /** Close `client` on `close()`, when the coordinator owns it (default: false). */
  closeClient?: boolean;
}

const RETRY_MS = 500;

export class ConsulCoordinator implements Coordinator {
  private readonly events = new CoordinatorEmitter();
  private readonly ttlMs: number;
  private readonly stop = new AbortController();
  private session: string | undefined;
  private lead: { leadership: Leadership; controller: AbortController } | undefined;
  private url: string | undefined;
  private index = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: ConsulCoordinatorOptions) {
    this.ttlMs = (options.ttlSeconds ?? 15) * 1000;
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
    clearTimeout(this.renewTimer);
    const session = this.session;
    const wasLeading = this.lose('closed');
    await this.loop?.catch(() => undefined);
    if (session) await this.stepDown(session, wasLeading);
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

  /** One look at the lock key (blocking once an index is known), and what follows from it. */
  private async round(): Promise<void> {
    await this.ensureSession();
    const wait = `${this.options.watchWaitSeconds ?? 30}s`;
    const res = await this.options.client.kv.get(this.options.key, { ...(this.index > 0 ? { index: this.index, wait } : {}), signal: this.stop.signal });
    // Consul's rule: an index that goes backwards means start over.
    this.index = res.meta.lastIndex < this.index ? 0 : res.meta.lastIndex;
    const entry = res.data;
    if (this.lead && entry?.Session !== this.session) this.lose('the lock key is no longer held by this replica');
    this.setUrl(entry?.Session ? valueOf(entry) : undefined);
    if (!entry?.Session) await this.tryAcquire();
  }

  private async tryAcquire(): Promise<void> {
    const { client, key, advertiseUrl } = this.options;
    const won = await client.kv.put(key, Buffer.from(advertiseUrl), { acquire: this.session! });
    if (!won) {
      // Held by someone else now, or inside the lock-delay: look again shortly.
      this.index = 0;
      return sleep(RETRY_MS, this.stop.signal);
    }
    const { data } = await client.kv.get(key);
    if (data?.Session === this.session) this.become(data!.LockIndex);
  }

  private become(epoch: number): void {
    const controller = new AbortController();
    this.lead = { controller, leadership: { signal: controller.signal, epoch } };
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

  private async ensureSession(): Promise<void> {
    if (this.session) return;
    this.session = await this.options.client.sessions.create({
      Name: `gantry-leader ${this.options.advertiseUrl}`,
      TTL: `${this.ttlMs / 1000}s`,
      LockDelay: `${this.options.lockDelaySeconds ?? 5}s`,
      Behavior: 'release',
      Checks: [],
    });
    this.scheduleRenew(this.ttlMs / 2);
  }

  private scheduleRenew(ms: number): void {
    clearTimeout(this.renewTimer);
    if (this.stop.signal.aborted) return;
    this.renewTimer = setTimeout(() => void this.renew(), ms);
    this.renewTimer.unref();
  }

  private async renew(): Promise<void> {
    const session = this.session;
    if (!session) return;
    try {
      const renewed = await this.options.client.sessions.renew(session);
      if (!renewed) return this.sessionGone();
      if (this.lead) this.armLease();
      this.scheduleRenew(this.ttlMs / 2);
    } catch (err) {
      // Keep trying through transient errors; the lease timer ends leadership if they last a TTL.
      this.options.logger.warn({ err: (err as Error).message }, 'renewing the leader-election session failed; retrying');
      this.scheduleRenew(Math.min(1_000, this.ttlMs / 4));
    }
  }

  private sessionGone(): void {
    this.session = undefined;
    this.index = 0;
    this.lose('the Consul session was invalidated');
  }

  /** The leader's own deadline: a TTL without a successful renewal ends leadership. */
  private armLease(): void {
    clearTimeout(this.leaseTimer);
    this.leaseTimer = setTimeout(() => this.lose(`no session renewal succeeded for ${this.ttlMs / 1000}s`), this.ttlMs);
    this.leaseTimer.unref();
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


import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/sleep.js';
import type { Coordinator, Leadership } from './coordinator.js';

/**
 * Leader-only work (the queue, the autoscaler): started in order when this replica wins leadership,
 * with the leadership's signal, and stopped at once, in reverse order, when it is lost.
 */
export interface LeaderWork {
  /** Starts serving; must stop by itself the moment `leadership.signal` aborts (also while starting). */
  start(leadership: Leadership): Promise<void>;
  /** Stops serving at once (leadership lost); may be called when not serving. */
  stop(): void | Promise<void>;
}

/** What the HTTP edge asks to decide between serving and forwarding. */
export interface LeaderView {
  /** Whether this replica leads. */
  leads(): boolean;
  /** The leader's advertise URL, when one is known. */
  leaderUrl(): string | undefined;
}

export interface LeadershipRunnerDeps {
  /** Builds the coordinator on first `start()`: a cluster replica knows its advertise URL only then. */
  coordinator: () => Coordinator;
  /** Started in this order on winning, stopped in reverse on losing. */
  work: LeaderWork[];
  logger: Logger;
  /** Wait before retrying a failed start, ms (default: 1000). */
  retryMs?: number;
}

/**
 * Ties leader-only work to a Coordinator:
 *
 *   following ──leader:acquired──► starting (work[0], work[1] … with the signal) ──► leading
 *       ▲                               │ leader:lost / signal aborted                  │
 *       └──────────── stop every part at once, in reverse ◄──────────────────────────────┘
 *
 * Starts are chained, so a quick lose-and-win never overlaps two starts; stops are not chained, so a
 * loss takes effect at once, even in the middle of a start (each part also watches the signal).
 */
export class LeadershipRunner implements LeaderView {
  private coordinator: Coordinator | undefined;
  private starting: Promise<void> = Promise.resolve();
  private unsubscribe: Array<() => void> = [];

  constructor(private readonly deps: LeadershipRunnerDeps) {}

  /** Builds and starts the coordinator; resolves once the first round ran and any won work started. */
  async start(): Promise<void> {
    if (this.coordinator) return;
    const coordinator = (this.coordinator = this.deps.coordinator());
    this.unsubscribe = [
      coordinator.on('leader:acquired', (leadership) => this.won(leadership)),
      coordinator.on('leader:lost', ({ reason }) => this.lost(reason)),
    ];
    await coordinator.start();
    await this.starting;
  }

  /** True from winning to losing, also while the work starts (the queue then answers "being rebuilt"). */
  leads(): boolean {
    return this.coordinator?.leadership() !== undefined;
  }

  leaderUrl(): string | undefined {
    return this.coordinator?.leaderUrl();
  }

  /** Resolves once the work started for the current leadership is running (tests, start-up). */
  async settled(): Promise<void> {
    await this.starting;
  }

  /** Steps down (which aborts the leadership and so stops the work at once) and stops campaigning. */
  async close(): Promise<void> {
    const coordinator = this.coordinator;
    if (!coordinator) return;
    const closing = coordinator.close();
    await this.starting;
    await this.stopAll('closed');
    for (const off of this.unsubscribe.splice(0)) off();
    await closing;
    this.coordinator = undefined;
  }

  private won(leadership: Leadership): void {
    this.starting = this.starting.then(() => this.startAll(leadership));
  }

  /** Starts every part in order; a failed start is retried while the leadership lasts. */
  private async startAll(leadership: Leadership): Promise<void> {
    while (!leadership.signal.aborted) {
      try {
        for (const part of this.deps.work) if (!leadership.signal.aborted) await part.start(leadership);
        return;
      } catch (err) {
        this.deps.logger.error({ err }, 'starting leader-only work failed; retrying while this replica leads');
        await this.stopAll('a start failed');
        await sleep(this.deps.retryMs ?? 1_000, leadership.signal);
      }
    }
  }

  private lost(reason: string): void {
    void this.stopAll(reason);
  }

  /** Calls every part's stop synchronously (in reverse order), then waits for them. */
  private async stopAll(reason: string): Promise<void> {
    const stopping = [...this.deps.work].reverse().map((part) => this.stopOne(part, reason));
    await Promise.all(stopping);
  }

  private async stopOne(part: LeaderWork, reason: string): Promise<void> {
    try {
      await part.stop();
    } catch (err) {
      this.deps.logger.error({ err, reason }, 'stopping leader-only work failed');
    }
  }
}

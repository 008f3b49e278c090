import type { NomadClient } from '../../clients/nomad/index.js';
import type { AllocListStub } from '../../clients/nomad/types.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { ReplicaExit } from '../scheduler.js';

const TERMINAL = new Set(['complete', 'failed', 'lost']);

interface Seen {
  who: { deploymentId: string; revisionId: string };
  ended: boolean;
  /** The task can no longer run (ClientStatus terminal), as opposed to being asked to stop. */
  gone: boolean;
  restarts: number;
}

export interface ExitWatcherOptions {
  client: NomadClient;
  clock: Clock;
  logger: Logger;
  /** The deployment and revision of an allocation of a Gantry job, or undefined for other jobs. */
  describe: (alloc: AllocListStub) => Promise<{ deploymentId: string; revisionId: string } | undefined>;
  emit: (exit: ReplicaExit) => void;
  /**
   * Told of a deployment one of whose allocations stopped running on its client (terminal, or gone from
   * the list), and of every deployment with allocations in a first (baseline) list.
   */
  settled?: (deploymentId: string) => void;
  /** Blocking-query wait (default: 300 s, Nomad's maximum). */
  waitMs?: number;
}

const ended = (a: AllocListStub) => TERMINAL.has(a.ClientStatus) || a.DesiredStatus !== 'run';
const gone = (a: AllocListStub) => TERMINAL.has(a.ClientStatus);
const restartsOf = (a: AllocListStub) => Object.values(a.TaskStates ?? {}).reduce((n, t) => n + t.Restarts, 0);

/**
 * Reports every replica whose process ended: an allocation that became terminal, one whose task restarted
 * in place, and one that vanished from the list while live. It follows `/v1/allocations` with blocking
 * queries; after an error it starts over with a full list (index 0) and reconciles it with what it saw, so
 * nothing is lost across reconnects (hashicorp.md §6.7, §6.9).
 */
export class ExitWatcher {
  private readonly seen = new Map<string, Seen>();
  /** Allocations already reported as ended (by `stop`, or earlier here). */
  readonly reported = new Set<string>();
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly o: ExitWatcherOptions) {}

  start(): void {
    if (this.loop) return;
    this.controller = new AbortController();
    this.loop = this.run(this.controller.signal);
  }

  async stop(): Promise<void> {
    this.controller?.abort();
    await this.loop;
    this.loop = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let index = 0;
    let baseline = true;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const { data, meta } = await this.o.client.allocations.list({ index, waitMs: this.o.waitMs ?? 300_000, signal });
        await this.reconcile(data, baseline);
        baseline = false;
        failures = 0;
        index = meta.lastIndex < index ? 0 : meta.lastIndex; // an index that goes backwards restarts the watch
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        index = 0;
        this.o.logger.warn({ err, failures }, 'watching Nomad allocations failed; retrying with a full list');
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)) * (0.5 + Math.random() / 2), signal);
      }
    }
  }

  private async reconcile(allocs: AllocListStub[], baseline: boolean): Promise<void> {
    const present = new Set<string>();
    const settled = new Set<string>();
    for (const a of allocs) {
      const who = await this.o.describe(a);
      if (!who) continue;
      present.add(a.ID);
      const before = this.seen.get(a.ID);
      const now: Seen = { who, ended: ended(a), gone: gone(a), restarts: restartsOf(a) };
      this.seen.set(a.ID, now);
      if (baseline || (now.gone && !before?.gone)) settled.add(who.deploymentId);
      if (baseline) continue;
      const endedNow = now.ended && !before?.ended && (before !== undefined || a.TaskStates !== null);
      if (endedNow || (before && !now.ended && now.restarts > before.restarts)) this.report(a, who, endedNow);
    }
    for (const [id, s] of this.seen) {
      if (present.has(id)) continue;
      this.seen.delete(id);
      settled.add(s.who.deploymentId);
      if (!s.ended && !baseline) this.report({ ID: id, TaskStates: null } as AllocListStub, s.who, true);
    }
    for (const deploymentId of settled) this.o.settled?.(deploymentId);
  }

  private report(a: AllocListStub, who: { deploymentId: string; revisionId: string } | undefined, final: boolean): void {
    if (final && this.reported.has(a.ID)) return;
    if (final) this.reported.add(a.ID);
    if (!who) return;
    const task = Object.values(a.TaskStates ?? {})[0];
    const last = [...(task?.Events ?? [])].reverse().find((e) => e.Type === 'Terminated');
    const code = last?.Details?.exit_code;
    this.o.emit({
      deploymentId: who.deploymentId,
      replicaId: a.ID,
      revisionId: who.revisionId,
      code: code === undefined ? undefined : Number(code),
      signal: last?.Details?.signal && last.Details.signal !== '0' ? last.Details.signal : code === undefined ? 'SIGTERM' : undefined,
      at: new Date(this.o.clock.now()).toISOString(),
    });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

import { appError } from '../shared/errors.js';
import type { QueueState } from './queue-state.js';
import { releaseGoneIncarnations } from './incarnations.js';
import { expireLeases, sweepRetention } from './sweeps.js';
import { apply } from './transition.js';
import type { JobRecord } from './types.js';
import { notLeader } from './write-batcher.js';

/**
 * Whether the queue serves, and what changes that: the rebuild from the store when a leadership begins,
 * the step-down when it ends, and the sweeps that run in between. `JobQueue.start()` and `stepDown()`
 * open and refuse the store's writes around these.
 */
export class QueueLifecycle {
  /** False until `rebuild()` has rebuilt the queues: serving earlier would hand out wrong places. */
  private ready = false;
  /** Set by `stepDown()`: calls are refused as "not the leader" until the next rebuild. */
  private steppedDown = false;
  /** Bumped by every `stepDown()`, so a rebuild that a step-down overtook does not start serving. */
  private generation = 0;
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly state: QueueState) {}

  /** Whether the queue serves (rebuilt, and not stepped down). */
  get isServing(): boolean {
    return this.ready;
  }

  /** Refuses a call unless the queue serves: as "not the leader" after a step-down, else as rebuilding. */
  assertReady(): void {
    if (this.ready) return;
    if (this.steppedDown) throw notLeader();
    throw appError('GANTRY_ERR_UNAVAILABLE', 'the queue is being rebuilt from the state store; retry shortly');
  }

  /**
   * Rebuilds the in-memory queues from the store and loses the claims whose incarnation is gone (one
   * question to the scheduler per deployment), then serves and starts the sweeps. A step-down at any
   * point abandons the rebuild: the queue does not serve.
   * `JobQueue.start()` calls it in the tick in which it opens the writes, so no step-down falls between.
   */
  async rebuild(): Promise<void> {
    const generation = this.generation;
    for await (const page of this.state.deps.store.scan()) {
      if (generation !== this.generation) return;
      for (const record of page) restore(this.state, record);
    }
    if (generation !== this.generation) return;
    await releaseGoneIncarnations(this.state);
    if (generation !== this.generation) return;
    this.steppedDown = false;
    this.ready = true;
    this.startSweeps();
  }

  /** Stops serving: later calls are refused, the sweeps stop, waiting polls get no job, memory is dropped. */
  stepDown(): void {
    this.generation++;
    this.steppedDown = true;
    this.ready = false;
    this.stopSweeps();
    answerWaiters(this.state);
    this.state.queues.clear();
    this.state.seq = 0;
  }

  /** Stops the sweeps and answers waiting polls with no job (shutdown); the queue keeps its state. */
  close(): void {
    this.stopSweeps();
    answerWaiters(this.state);
  }

  private startSweeps(): void {
    const { deps } = this.state;
    const every = (ms: number, fn: () => Promise<unknown>) =>
      this.timers.push(setInterval(() => void fn().catch((err) => deps.logger.error({ err }, 'queue sweep failed')), ms).unref());
    every(deps.settings.leaseSweepMs, () => expireLeases(this.state));
    every(deps.settings.incarnationSweepMs ?? 10_000, () => releaseGoneIncarnations(this.state));
    every(Math.min(3_600_000, deps.settings.retentionMs), () => sweepRetention(this.state));
  }

  private stopSweeps(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}

/** Puts a stored job back in memory: pending into its heap, running into `running`. */
function restore(state: QueueState, record: JobRecord): void {
  state.seq = Math.max(state.seq, record.seq);
  if (record.status !== 'pending' && record.status !== 'running') return;
  apply(state, state.queueOf(record.deployment_id), record, true);
}

/** Answers every waiting long poll with no job. */
function answerWaiters(state: QueueState): void {
  for (const q of state.queues.values()) for (const w of q.waiters.splice(0)) w.resolve(undefined);
}

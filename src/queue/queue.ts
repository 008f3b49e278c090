import { isoTime } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { TxnOp } from '../state/state-store.js';
import { cancelJob, clearPending } from './cancellation.js';
import { releaseClaim } from './claims.js';
import type { DeploymentQueue, Waiter } from './deployment-queue.js';
import { QueueEvents } from './events.js';
import { liveIncarnations, loseAbandonedClaims } from './incarnations.js';
import { QueueLifecycle } from './lifecycle.js';
import { QueueState, type JobQueueDeps } from './queue-state.js';
import { drainReplicas, releaseReplicaClaims } from './replicas.js';
import * as sweeps from './sweeps.js';
import { applyUpdate, type StatusUpdate } from './status-updates.js';
import { claim, commit, emitClaimed, handOut } from './transition.js';
import { claimed } from './transitions.js';
import type { Claimant, JobRecord, JobView, JsonObject } from './types.js';

export type { JobQueueDeps, QueueSettings } from './queue-state.js';
export type { StatusUpdate } from './status-updates.js';

export interface SubmitInput {
  deploymentId: string;
  model: string;
  payload: JsonObject;
  info: JsonObject;
  priority: number;
  maxRetries: number;
}

export interface RetrieveInput {
  deploymentId: string;
  claimant: Claimant;
  /** How long to wait for a job (long poll), in ms. */
  waitMs: number;
  /** `claim_timeout` sent by the worker, in seconds. */
  claimTimeoutSeconds: number | undefined;
  /** The lease of a claimant that sent no claim_timeout and is not a known replica (its grace period). */
  defaultLeaseSeconds: number;
  idleSeconds?: number;
  signal: AbortSignal;
}

/**
 * The queue, in-process on the leader. Every change is durable in the store before the caller hears of
 * it; the in-memory structures decide who gets what and are rebuilt from the store by `start()`.
 *
 * This class is the queue's API and the path of a job (submit, hand-out, status updates). Its parts,
 * each given the shared `QueueState`, live beside it: `transitions.ts` (each transition as a pure
 * function), `transition.ts` (durable first, then memory; claims), `claims.ts` (claims lost and
 * released), `status-updates.ts`, `cancellation.ts`, `replicas.ts` (drain, replicas that ended),
 * `incarnations.ts` (claims bound to a replica's incarnation), `lifecycle.ts` (rebuild, step-down,
 * sweeps) and `sweeps.ts` (lease expiry, retention).
 */
export class JobQueue {
  readonly events = new QueueEvents();
  private readonly state: QueueState;
  private readonly lifecycle: QueueLifecycle;

  constructor(private readonly deps: JobQueueDeps) {
    this.state = new QueueState(deps, this.events);
    this.lifecycle = new QueueLifecycle(this.state);
  }

  // ---- client API (compat.md §4) ----

  async submit(input: SubmitInput): Promise<JobRecord> {
    this.lifecycle.assertReady();
    const now = this.deps.clock.now();
    const record: JobRecord = {
      request_id: newId(),
      deployment_id: input.deploymentId,
      model: input.model,
      status: 'pending',
      priority: input.priority,
      seq: ++this.state.seq,
      retries: 0,
      max_retries: input.maxRetries,
      created_at: isoTime(now),
      info: input.info,
      warnings: [],
    };
    const ref = await this.deps.store.offload(record, 'payload', input.payload);
    if (ref) record.payload_ref = ref;
    else record.payload = input.payload;
    const written = await this.persistSubmitted(record);
    this.events.emit('job:submitted', { deploymentId: record.deployment_id, requestId: record.request_id });
    return written;
  }

  /**
   * Writes a new job once. When a worker is already waiting, the job is written as claimed by it, so the
   * hand-off costs no second durable write (dispatch latency is one commit, not two).
   */
  private async persistSubmitted(record: JobRecord): Promise<JobRecord> {
    const q = this.state.queueOf(record.deployment_id);
    const waiter = q.nextWaiter();
    waiter?.reserve();
    const next = waiter ? claimed(record, waiter, this.deps.clock.now()) : record;
    try {
      await commit(this.state, q, next, waiter !== undefined);
    } catch (err) {
      waiter?.resolve(undefined);
      throw err;
    }
    if (waiter) {
      emitClaimed(this.state, q, next);
      waiter.resolve(next);
    }
    return next;
  }

  async view(deploymentId: string, requestId: string): Promise<JobView | undefined> {
    this.lifecycle.assertReady();
    const record = this.state.queueOf(deploymentId).running.get(requestId) ?? (await this.deps.store.load(deploymentId, requestId));
    return record && this.toView(record);
  }

  /**
   * Pending → canceled (compat.md §8.4); otherwise the current status, for a 409. With `running` (the
   * Gantry extension `x_gantry_running`), a running job is canceled too: its worker hears of it on its
   * next status update, answered 409 `GANTRY_ERR_JOB_CANCELED`.
   */
  async cancel(
    deploymentId: string,
    requestId: string,
    options: { running?: boolean } = {},
  ): Promise<{ canceled: true } | { canceled: false; status: string }> {
    this.lifecycle.assertReady();
    return cancelJob(this.state, this.state.queueOf(deploymentId), requestId, options);
  }

  /** Cancels every pending job (compat.md §8.5). */
  async clear(deploymentId: string): Promise<number> {
    this.lifecycle.assertReady();
    return clearPending(this.state, this.state.queueOf(deploymentId));
  }

  metrics(deploymentId: string): { messages_waiting: number; messages_running: number; total_jobs: number } {
    const q = this.state.queueOf(deploymentId);
    const running = q.running.size + q.claiming.size;
    return { messages_waiting: q.pending.size, messages_running: running, total_jobs: q.pending.size + running };
  }

  // ---- worker protocol (compat.md §3.5) ----

  /** The next job for a worker, waiting up to `waitMs`; undefined when none came. */
  async retrieve(input: RetrieveInput): Promise<{ record: JobRecord; payload: JsonObject } | undefined> {
    this.lifecycle.assertReady();
    const q = this.state.queueOf(input.deploymentId);
    q.polls.set(input.claimant.key, { at: this.deps.clock.now(), idleSeconds: input.idleSeconds });
    const claimant = await this.withIncarnation(input.deploymentId, input.claimant);
    await loseAbandonedClaims(this.state, claimant, input.deploymentId, input.idleSeconds);
    const asking = { ...input, claimant };
    const record = (await this.claimPending(q, asking)) ?? (await this.wait(q, asking));
    return record && { record, payload: await this.deps.store.payloadOf(record) };
  }

  /** The first pending job still pending when claimed; a draining replica (a scale-down stops it soon) gets none. */
  private async claimPending(q: DeploymentQueue, input: RetrieveInput): Promise<JobRecord | undefined> {
    if (q.isDraining(input.claimant)) return undefined;
    for (let entry = q.pending.pop(); entry; entry = q.pending.pop()) {
      const record = await claim(this.state, q, entry, input);
      if (record) return record;
    }
    return undefined;
  }

  /** A replica's claimant with the incarnation that runs now: its claims are bound to it. */
  private async withIncarnation(deploymentId: string, claimant: Claimant): Promise<Claimant> {
    if (!claimant.replicaId) return claimant;
    const incarnation = (await liveIncarnations(this.state, deploymentId))?.get(claimant.replicaId);
    return incarnation ? { ...claimant, incarnation } : claimant;
  }

  /** A claim whose answer never reached the worker: back to the queue, no retry counted. */
  async release(deploymentId: string, requestId: string, claimant: Claimant): Promise<void> {
    await releaseClaim(this.state, this.state.queueOf(deploymentId), requestId, claimant.key);
  }

  /** A worker's status update (compat.md §3.5): `running` renews, `done`/`failed` finish (status-updates.ts). */
  async update(input: StatusUpdate): Promise<'applied' | 'repeated'> {
    this.lifecycle.assertReady();
    return applyUpdate(this.state, input);
  }

  /** Loses, at once, the claims of a replica's run that ended (its process exited, §8.2). Returns how many. */
  async releaseReplica(deploymentId: string, replicaId: string, reason: string): Promise<number> {
    if (!this.lifecycle.isServing) return 0; // a follower holds no claims; the leader's rebuild checks its replicas
    return releaseReplicaClaims(this.state, deploymentId, replicaId, reason);
  }

  /**
   * Sets the replicas of a deployment that get no job: a scale-down will stop them (compat.md §8.16).
   * A replica taken off the list has its long polls answered at once, so it asks again and gets work.
   */
  setDraining(deploymentId: string, replicaIds: Iterable<string>): void {
    drainReplicas(this.state, deploymentId, replicaIds);
  }

  /** How many jobs a replica holds (running, or being handed to it); a drained replica holds none. */
  claimsHeldBy(deploymentId: string, replicaId: string): number {
    return this.state.queueOf(deploymentId).claimsOf(replicaId);
  }

  /** Every deployment the queue has seen since it started. */
  deploymentIds(): string[] {
    return [...this.state.queues.keys()];
  }

  /** The last poll of each worker of a deployment (for status and stuck-worker detection). */
  polls(deploymentId: string): Map<string, { at: number; idleSeconds: number | undefined }> {
    return this.state.queueOf(deploymentId).polls;
  }

  // ---- lifecycle (lifecycle.ts) ----

  /**
   * Rebuilds the in-memory queues from the store, then starts the lease and retention sweeps. With a
   * leadership's `signal`, the queue steps down the moment it aborts (also during the rebuild, which is
   * then abandoned); with its `fence`, every write checks that the leadership still holds. Starting a
   * queue that serves does nothing.
   */
  async start(signal?: AbortSignal, fence?: TxnOp): Promise<void> {
    if (this.lifecycle.isServing || signal?.aborted) return;
    this.deps.store.openWrites(fence);
    signal?.addEventListener('abort', () => this.stepDown(), { once: true });
    await this.lifecycle.rebuild();
  }

  /**
   * Stops serving at once (leadership lost): every later call is refused with GANTRY_ERR_NOT_LEADER,
   * waiting long polls are answered with no job, and the in-memory state is dropped; the next `start()`
   * rebuilds it from the store, where every acknowledged change already is.
   */
  stepDown(): void {
    this.deps.store.refuseWrites();
    this.lifecycle.stepDown();
  }

  /** Whether this queue serves (rebuilt, and not stepped down). */
  get isServing(): boolean {
    return this.lifecycle.isServing;
  }

  async close(): Promise<void> {
    this.lifecycle.close();
  }

  /** Looks for leases that ended and loses their claims. */
  async expireLeases(): Promise<void> {
    await sweeps.expireLeases(this.state);
  }

  /** Deletes finished jobs older than the retention period. */
  async sweepRetention(): Promise<number> {
    return sweeps.sweepRetention(this.state);
  }

  // ---- internals: the path of a job through a worker ----

  private wait(q: DeploymentQueue, input: RetrieveInput): Promise<JobRecord | undefined> {
    if (input.signal.aborted) return Promise.resolve(undefined);
    return new Promise<JobRecord | undefined>((resolve) => {
      const abort = () => done(undefined);
      const timer = setTimeout(abort, input.waitMs);
      const reserve = () => {
        clearTimeout(timer);
        input.signal.removeEventListener('abort', abort);
      };
      function done(job: JobRecord | undefined): void {
        reserve();
        q.dropWaiter(waiter);
        resolve(job);
      }
      const waiter: Waiter = {
        claimant: input.claimant,
        claimTimeoutSeconds: input.claimTimeoutSeconds,
        defaultLeaseSeconds: input.defaultLeaseSeconds,
        reserve,
        resolve: done,
      };
      input.signal.addEventListener('abort', abort, { once: true });
      q.waiters.push(waiter);
      handOut(this.state, q); // a job that became pending while this poll got here
    });
  }

  private async toView(record: JobRecord): Promise<JobView> {
    return {
      request_id: record.request_id,
      model: record.model,
      status: record.status,
      priority: record.priority,
      retries: record.retries,
      created_at: record.created_at,
      claimed_at: record.claimed_at ?? null,
      done_at: record.done_at ?? null,
      inputs: await this.deps.store.payloadOf(record),
      outputs: await this.deps.store.outputsOf(record),
      info: record.info,
      warnings: record.warnings,
    };
  }
}

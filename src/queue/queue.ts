import type { Logger } from '../shared/logger.js';
import { isoTime, type Clock } from '../shared/clock.js';
import { appError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { DeploymentQueue, type Waiter } from './deployment-queue.js';
import type { JobStore } from './job-store.js';
import type { TxnOp } from '../state/state-store.js';
import { QueueEvents } from './events.js';
import { TERMINAL, type Claimant, type JobRecord, type JobView, type JsonObject } from './types.js';

export interface QueueSettings {
  /** How often expired leases are looked for, in ms (default: 500). */
  leaseSweepMs: number;
  /** Longest a replica-bound claim lasts without news (compat.md §8.2; default: 24 h). */
  claimCeilingMs: number;
  /** Largest outputs JSON a worker may report (compat.md §8.31; default: 32 MiB). */
  maxOutputBytes: number;
  /** How long finished jobs are kept (compat.md §8.19; default: 7 days). */
  retentionMs: number;
}

export interface JobQueueDeps {
  store: JobStore;
  clock: Clock;
  logger: Logger;
  settings: QueueSettings;
  /** Whether a replica still runs; claims of replicas that are gone are released (default: assume alive). */
  isReplicaAlive?: (deploymentId: string, replicaId: string) => Promise<boolean>;
}

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

export interface StatusUpdate {
  deploymentId: string;
  requestId: string;
  claimant: Claimant;
  status: 'running' | 'done' | 'failed';
  payload: JsonObject | undefined;
  info: JsonObject | undefined;
}

/**
 * The queue, in-process on the leader. Every change is durable in the store before the caller hears of
 * it; the in-memory structures decide who gets what and are rebuilt from the store by `start()`.
 */
export class JobQueue {
  readonly events = new QueueEvents();
  private readonly queues = new Map<string, DeploymentQueue>();
  private seq = 0;
  private timers: NodeJS.Timeout[] = [];
  /** False until `start()` has rebuilt the queues: serving earlier would hand out wrong places. */
  private ready = false;
  /** Set by `stepDown()`: calls are refused as "not the leader" until the next `start()`. */
  private steppedDown = false;
  /** Bumped by every `stepDown()`, so a rebuild that a step-down overtook does not start serving. */
  private generation = 0;

  constructor(private readonly deps: JobQueueDeps) {}

  // ---- client API (compat.md §4) ----

  async submit(input: SubmitInput): Promise<JobRecord> {
    this.assertReady();
    const now = this.deps.clock.now();
    const record: JobRecord = {
      request_id: newId(),
      deployment_id: input.deploymentId,
      model: input.model,
      status: 'pending',
      priority: input.priority,
      seq: ++this.seq,
      retries: 0,
      max_retries: input.maxRetries,
      created_at: isoTime(now),
      info: input.info,
      warnings: [],
    };
    const ref = await this.deps.store.offload(record, 'payload', input.payload);
    if (ref) record.payload_ref = ref;
    else record.payload = input.payload;
    await this.persistSubmitted(record);
    this.events.emit('job:submitted', { deploymentId: record.deployment_id, requestId: record.request_id });
    return record;
  }

  /**
   * Writes a new job once. When a worker is already waiting, the job is written as claimed by it, so the
   * hand-off costs no second durable write (dispatch latency is one commit, not two).
   */
  private async persistSubmitted(record: JobRecord): Promise<void> {
    const q = this.queueOf(record.deployment_id);
    const waiter = q.nextWaiter();
    if (waiter) {
      waiter.reserve();
      this.applyClaim(q, record, waiter.claimant, waiter.claimTimeoutSeconds, waiter.defaultLeaseSeconds);
    }
    try {
      await this.deps.store.save(record);
    } catch (err) {
      if (waiter) {
        q.running.delete(record.request_id);
        waiter.resolve(undefined);
      }
      throw err;
    }
    if (!waiter) return q.pending.push({ id: record.request_id, priority: record.priority, seq: record.seq });
    this.emitClaimed(q, record);
    waiter.resolve(record);
  }

  async view(deploymentId: string, requestId: string): Promise<JobView | undefined> {
    this.assertReady();
    const record = this.queueOf(deploymentId).running.get(requestId) ?? (await this.deps.store.load(deploymentId, requestId));
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
    this.assertReady();
    const q = this.queueOf(deploymentId);
    const running = q.running.get(requestId);
    if (running && options.running) return this.cancelRunning(q, running);
    if (!q.pending.remove(requestId)) {
      const status = q.state(requestId) ?? (await this.deps.store.load(deploymentId, requestId))?.status;
      if (!status) throw appError('GANTRY_ERR_JOB_NOT_FOUND', `no job ${requestId} in this deployment's queue`, { param: 'request_id' });
      return { canceled: false, status };
    }
    await this.finishPending(deploymentId, requestId);
    return { canceled: true };
  }

  /** Cancels every pending job (compat.md §8.5). */
  async clear(deploymentId: string): Promise<number> {
    this.assertReady();
    const q = this.queueOf(deploymentId);
    const ids = q.pending.ids();
    for (const id of ids) q.pending.remove(id);
    for (const id of ids) await this.finishPending(deploymentId, id);
    return ids.length;
  }

  metrics(deploymentId: string): { messages_waiting: number; messages_running: number; total_jobs: number } {
    const q = this.queueOf(deploymentId);
    const running = q.running.size + q.claiming.size;
    return { messages_waiting: q.pending.size, messages_running: running, total_jobs: q.pending.size + running };
  }

  // ---- worker protocol (compat.md §3.5) ----

  /** The next job for a worker, waiting up to `waitMs`; undefined when none came. */
  async retrieve(input: RetrieveInput): Promise<{ record: JobRecord; payload: JsonObject } | undefined> {
    this.assertReady();
    const q = this.queueOf(input.deploymentId);
    q.polls.set(input.claimant.key, { at: this.deps.clock.now(), idleSeconds: input.idleSeconds });
    // A draining replica (about to be stopped by a scale-down) waits without being handed anything.
    const next = q.isDraining(input.claimant) ? undefined : q.pending.pop();
    const record = next ? await this.claim(q, next.id, input) : await this.wait(q, input);
    return record && { record, payload: await this.deps.store.payloadOf(record) };
  }

  /** A claim whose answer never reached the worker: back to the queue, no retry counted. */
  async release(deploymentId: string, requestId: string): Promise<void> {
    const record = this.queueOf(deploymentId).running.get(requestId);
    if (record) await this.requeue(record, undefined);
  }

  async update(input: StatusUpdate): Promise<'applied' | 'repeated'> {
    this.assertReady();
    const q = this.queueOf(input.deploymentId);
    const record = q.running.get(input.requestId);
    if (!record) return this.updateOfNotRunning(input);
    if (!record.claim || holderOf(record.claim.claimant) !== holderOf(input.claimant.key)) {
      throw appError('GANTRY_ERR_JOB_NOT_HELD', `job ${input.requestId} is claimed by another worker`, { param: 'request_id' });
    }
    if (input.info) record.info = { ...record.info, ...input.info };
    if (input.status === 'running') return this.renew(record);
    return this.finishRunning(q, record, input);
  }

  /** Releases every claim a replica held, at once (its process ended, §8.2). Returns how many. */
  async releaseReplica(deploymentId: string, replicaId: string, reason: string): Promise<number> {
    if (!this.ready) return 0; // a follower holds no claims; the leader's rebuild checks its replicas
    const held = [...this.queueOf(deploymentId).running.values()].filter((r) => r.claim?.replica_id === replicaId);
    for (const record of held) await this.loseClaim(record, `replica ${replicaId} ${reason}`);
    return held.length;
  }

  /**
   * Sets the replicas of a deployment that get no job: a scale-down will stop them (compat.md §8.16).
   * A replica taken off the list has its long polls answered at once, so it asks again and gets work.
   */
  setDraining(deploymentId: string, replicaIds: Iterable<string>): void {
    const next = new Set(replicaIds);
    if (next.size === 0 && !this.queues.has(deploymentId)) return; // nothing drained, nothing to make
    const q = this.queueOf(deploymentId);
    const undrained = new Set([...q.draining].filter((id) => !next.has(id)));
    q.draining.clear();
    for (const id of next) q.draining.add(id);
    for (const w of q.waiters.filter((w) => undrained.has(w.claimant.replicaId ?? ''))) w.resolve(undefined);
  }

  /** How many jobs a replica holds (running, or being handed to it); a drained replica holds none. */
  claimsHeldBy(deploymentId: string, replicaId: string): number {
    return this.queueOf(deploymentId).claimsOf(replicaId);
  }

  /** Every deployment the queue has seen since it started. */
  deploymentIds(): string[] {
    return [...this.queues.keys()];
  }

  /** The last poll of each worker of a deployment (for status and stuck-worker detection). */
  polls(deploymentId: string): Map<string, { at: number; idleSeconds: number | undefined }> {
    return this.queueOf(deploymentId).polls;
  }

  // ---- lifecycle ----

  /**
   * Rebuilds the in-memory queues from the store, then starts the lease and retention sweeps. With a
   * leadership's `signal`, the queue steps down the moment it aborts (also during the rebuild, which is
   * then abandoned); with its `fence`, every write checks that the leadership still holds. Starting a
   * queue that serves does nothing.
   */
  async start(signal?: AbortSignal, fence?: TxnOp): Promise<void> {
    if (this.ready || signal?.aborted) return;
    const generation = this.generation;
    this.deps.store.openWrites(fence);
    signal?.addEventListener('abort', () => this.stepDown(), { once: true });
    const stale: JobRecord[] = [];
    for await (const page of this.deps.store.scan()) {
      if (generation !== this.generation) return;
      for (const record of page) this.restore(record, stale);
    }
    for (const record of stale) await this.releaseIfReplicaGone(record);
    if (generation !== this.generation) return;
    this.steppedDown = false;
    this.ready = true;
    this.startSweeps();
  }

  /**
   * Stops serving at once (leadership lost): every later call is refused with GANTRY_ERR_NOT_LEADER,
   * waiting long polls are answered with no job, and the in-memory state is dropped; the next `start()`
   * rebuilds it from the store, where every acknowledged change already is.
   */
  stepDown(): void {
    this.deps.store.refuseWrites();
    this.generation++;
    this.steppedDown = true;
    this.ready = false;
    this.stopSweeps();
    for (const q of this.queues.values()) for (const w of q.waiters.splice(0)) w.resolve(undefined);
    this.queues.clear();
    this.seq = 0;
  }

  /** Whether this queue serves (rebuilt, and not stepped down). */
  get isServing(): boolean {
    return this.ready;
  }

  async close(): Promise<void> {
    this.stopSweeps();
    for (const q of this.queues.values()) for (const w of q.waiters.splice(0)) w.resolve(undefined);
  }

  private startSweeps(): void {
    const every = (ms: number, fn: () => Promise<unknown>) =>
      this.timers.push(setInterval(() => void fn().catch((err) => this.deps.logger.error({ err }, 'queue sweep failed')), ms).unref());
    every(this.deps.settings.leaseSweepMs, () => this.expireLeases());
    every(Math.min(3_600_000, this.deps.settings.retentionMs), () => this.sweepRetention());
  }

  private stopSweeps(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Looks for leases that ended and loses their claims. */
  async expireLeases(): Promise<void> {
    const now = this.deps.clock.now();
    for (const q of this.queues.values()) {
      for (const record of [...q.running.values()]) {
        const why = this.leaseEnded(record, now);
        if (why) await this.loseClaim(record, why);
      }
    }
  }

  /** Deletes finished jobs older than the retention period. */
  async sweepRetention(): Promise<number> {
    const cutoff = this.deps.clock.now() - this.deps.settings.retentionMs;
    let removed = 0;
    for await (const page of this.deps.store.scan()) {
      for (const r of page) {
        if (!TERMINAL.has(r.status) || !r.done_at || Date.parse(r.done_at) > cutoff) continue;
        await this.deps.store.remove(r);
        removed++;
      }
    }
    return removed;
  }

  // ---- internals ----

  private assertReady(): void {
    if (this.ready) return;
    if (this.steppedDown) throw appError('GANTRY_ERR_NOT_LEADER', 'this replica no longer leads the queue; retry shortly (through any replica)');
    throw appError('GANTRY_ERR_UNAVAILABLE', 'the queue is being rebuilt from the state store; retry shortly');
  }

  private queueOf(deploymentId: string): DeploymentQueue {
    let q = this.queues.get(deploymentId);
    if (!q) this.queues.set(deploymentId, (q = new DeploymentQueue(deploymentId)));
    return q;
  }

  /** A durable pending job goes to the oldest waiting worker, else into the heap. */
  private enqueue(record: JobRecord): void {
    const q = this.queueOf(record.deployment_id);
    const waiter = q.nextWaiter();
    if (!waiter) return q.pending.push({ id: record.request_id, priority: record.priority, seq: record.seq });
    waiter.reserve();
    q.claiming.set(record.request_id, waiter.claimant.replicaId);
    this.markClaimed(q, record, waiter.claimant, waiter.claimTimeoutSeconds, waiter.defaultLeaseSeconds)
      .then(waiter.resolve, (err: unknown) => this.failHandOff(q, record, waiter, err));
  }

  private failHandOff(q: DeploymentQueue, record: JobRecord, waiter: Waiter, err: unknown): void {
    this.deps.logger.error({ err, requestId: record.request_id }, 'handing a job to a worker failed');
    q.claiming.delete(record.request_id);
    q.pending.push({ id: record.request_id, priority: record.priority, seq: record.seq });
    waiter.resolve(undefined);
  }

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
    });
  }

  private async claim(q: DeploymentQueue, requestId: string, input: RetrieveInput): Promise<JobRecord> {
    q.claiming.set(requestId, input.claimant.replicaId);
    const record = await this.deps.store.load(q.deploymentId, requestId);
    if (!record) throw new Error(`pending job ${requestId} has no record`);
    return this.markClaimed(q, record, input.claimant, input.claimTimeoutSeconds, input.defaultLeaseSeconds);
  }

  private async markClaimed(
    q: DeploymentQueue,
    record: JobRecord,
    claimant: Claimant,
    claimTimeoutSeconds: number | undefined,
    defaultLeaseSeconds: number | undefined,
  ): Promise<JobRecord> {
    this.applyClaim(q, record, claimant, claimTimeoutSeconds, defaultLeaseSeconds);
    await this.deps.store.save(record);
    this.emitClaimed(q, record);
    return record;
  }

  /** Marks a job running for a claimant, in memory; the caller writes it. */
  private applyClaim(
    q: DeploymentQueue,
    record: JobRecord,
    claimant: Claimant,
    claimTimeoutSeconds: number | undefined,
    defaultLeaseSeconds: number | undefined,
  ): void {
    const now = this.deps.clock.now();
    const leaseSeconds = claimTimeoutSeconds ?? (claimant.replicaId ? undefined : (defaultLeaseSeconds ?? 300));
    record.status = 'running';
    record.claimed_at = isoTime(now);
    record.claim = {
      claimant: claimant.key,
      ...(claimant.replicaId ? { replica_id: claimant.replicaId } : {}),
      ...(claimant.hostname ? { hostname: claimant.hostname } : {}),
      ...(leaseSeconds !== undefined ? { lease_seconds: leaseSeconds, lease_until: now + leaseSeconds * 1000 } : {}),
    };
    q.running.set(record.request_id, record);
    q.claiming.delete(record.request_id);
  }

  private emitClaimed(q: DeploymentQueue, record: JobRecord): void {
    const waitedMs = Date.parse(record.claimed_at!) - Date.parse(record.created_at);
    this.events.emit('job:claimed', { deploymentId: q.deploymentId, requestId: record.request_id, waitedMs });
  }

  private async renew(record: JobRecord): Promise<'applied'> {
    const claim = record.claim!;
    if (claim.lease_seconds !== undefined) claim.lease_until = this.deps.clock.now() + claim.lease_seconds * 1000;
    await this.deps.store.save(record);
    return 'applied';
  }

  private async cancelRunning(q: DeploymentQueue, record: JobRecord): Promise<{ canceled: true }> {
    const now = this.deps.clock.now();
    q.running.delete(record.request_id);
    record.status = 'canceled';
    record.done_at = isoTime(now);
    delete record.claim;
    await this.deps.store.save(record);
    const ranMs = now - Date.parse(record.claimed_at ?? record.created_at);
    this.events.emit('job:finished', { deploymentId: q.deploymentId, requestId: record.request_id, status: 'canceled', ranMs });
    return { canceled: true };
  }

  private async finishRunning(q: DeploymentQueue, record: JobRecord, input: StatusUpdate): Promise<'applied'> {
    const now = this.deps.clock.now();
    q.running.delete(record.request_id);
    record.status = input.status === 'done' ? 'done' : 'failed';
    record.done_at = isoTime(now);
    delete record.claim;
    if (input.status === 'done') await this.setOutputs(record, input.payload ?? {});
    await this.deps.store.save(record);
    this.events.emit('job:finished', {
      deploymentId: q.deploymentId,
      requestId: record.request_id,
      status: record.status,
      ranMs: now - Date.parse(record.claimed_at ?? record.created_at),
    });
    return 'applied';
  }

  private async setOutputs(record: JobRecord, outputs: JsonObject): Promise<void> {
    const size = Buffer.byteLength(JSON.stringify(outputs));
    if (size > this.deps.settings.maxOutputBytes) {
      record.status = 'failed';
      record.info = { ...record.info, error: `outputs are ${size} bytes, over the limit of ${this.deps.settings.maxOutputBytes}` };
      return;
    }
    const ref = await this.deps.store.offload(record, 'outputs', outputs);
    if (ref) record.outputs_ref = ref;
    else record.outputs = outputs;
  }

  /** An update for a job this leader does not hold as running: idempotent repeats, else a clear refusal. */
  private async updateOfNotRunning(input: StatusUpdate): Promise<'repeated'> {
    const record = await this.deps.store.load(input.deploymentId, input.requestId);
    if (!record) throw appError('GANTRY_ERR_JOB_NOT_FOUND', `no job ${input.requestId} in this deployment's queue`, { param: 'request_id' });
    if (record.status === input.status && TERMINAL.has(record.status)) return 'repeated';
    if (record.status === 'canceled') {
      throw appError('GANTRY_ERR_JOB_CANCELED', `job ${input.requestId} was canceled; stop working on it`, { param: 'request_id' });
    }
    const why = record.status === 'pending' ? 'it went back to the queue after its claim was lost' : `it is already ${record.status}`;
    throw appError('GANTRY_ERR_JOB_NOT_HELD', `job ${input.requestId} is no longer held by this worker: ${why}`, { param: 'request_id' });
  }

  private async finishPending(deploymentId: string, requestId: string): Promise<void> {
    const record = await this.deps.store.load(deploymentId, requestId);
    if (!record) return;
    record.status = 'canceled';
    record.done_at = isoTime(this.deps.clock.now());
    await this.deps.store.save(record);
  }

  private leaseEnded(record: JobRecord, now: number): string | undefined {
    const claim = record.claim;
    if (!claim) return undefined;
    if (claim.lease_until !== undefined && claim.lease_until <= now) return `its lease of ${claim.lease_seconds}s expired without news`;
    const ceiling = Date.parse(record.claimed_at ?? record.created_at) + this.deps.settings.claimCeilingMs;
    if (claim.lease_until === undefined && ceiling <= now) return 'its claim reached the ceiling for replica-bound claims';
    return undefined;
  }

  /** A lost claim: back to its original place with one more retry, or failed once retries are used up. */
  private async loseClaim(record: JobRecord, reason: string): Promise<void> {
    const q = this.queueOf(record.deployment_id);
    if (q.running.get(record.request_id) !== record) return;
    const history = Array.isArray(record.info.retry_history) ? record.info.retry_history : [];
    record.info = { ...record.info, retry_history: [...history, { at: isoTime(this.deps.clock.now()), reason }] };
    this.events.emit('lease:expired', { deploymentId: record.deployment_id, requestId: record.request_id, reason });
    if (record.retries >= record.max_retries) return this.failLost(q, record, reason);
    record.retries += 1;
    await this.requeue(record, reason);
  }

  private async failLost(q: DeploymentQueue, record: JobRecord, reason: string): Promise<void> {
    q.running.delete(record.request_id);
    record.status = 'failed';
    record.done_at = isoTime(this.deps.clock.now());
    record.info = { ...record.info, error: `the job's claim was lost ${record.retries + 1} times (max_retries ${record.max_retries}); last: ${reason}` };
    delete record.claim;
    await this.deps.store.save(record);
  }

  private async requeue(record: JobRecord, reason: string | undefined): Promise<void> {
    const q = this.queueOf(record.deployment_id);
    q.running.delete(record.request_id);
    record.status = 'pending';
    delete record.claim;
    delete record.claimed_at;
    await this.deps.store.save(record);
    this.enqueue(record);
    if (reason) this.deps.logger.warn({ requestId: record.request_id, reason }, 'claim lost; job requeued');
  }

  /** After a restart, a replica-bound claim stays only while its replica still runs. */
  private async releaseIfReplicaGone(record: JobRecord): Promise<void> {
    const replicaId = record.claim!.replica_id!;
    const alive = (await this.deps.isReplicaAlive?.(record.deployment_id, replicaId)) ?? true;
    if (!alive) await this.loseClaim(record, `replica ${replicaId} is gone (found after a restart)`);
  }

  private restore(record: JobRecord, stale: JobRecord[]): void {
    this.seq = Math.max(this.seq, record.seq);
    const q = this.queueOf(record.deployment_id);
    if (record.status === 'pending') q.pending.push({ id: record.request_id, priority: record.priority, seq: record.seq });
    if (record.status !== 'running') return;
    q.running.set(record.request_id, record);
    if (record.claim?.replica_id) stale.push(record);
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

/**
 * The part of a claimant's identity a status update can prove: the replica, or the key. Sprocket sends
 * the hostname only when it polls, so updates from a key-based worker are matched on the key alone.
 */
function holderOf(claimant: string): string {
  const at = claimant.indexOf('@');
  return claimant.startsWith('key:') && at !== -1 ? claimant.slice(0, at) : claimant;
}

import type { JobSpec, ReplicaStatus } from '../scheduler.js';
import type { ReplicaContext } from './context.js';
import type { ProcessHandle } from './process-handle.js';
import { Replica } from './replica.js';
import type { DeploymentRecord, ReplicaRecord } from './state-files.js';

/**
 * One deployment's replicas on this machine: keeps `desired` replicas of the current revision and rolls
 * from an older revision.
 *
 * Rolling: a new revision starts its replicas next to the old ones. An old replica is stopped as soon as
 * it is not ready (it serves nothing), and the ready ones once the new revision has `desired` ready
 * replicas, or at once when a new replica is stuck (Unschedulable, CrashLoopBackOff, a failed pip): it
 * may be stuck on the GPUs the old ones hold, and two revisions must never run side by side for ever.
 */
export class LocalDeployment {
  private record: DeploymentRecord;
  private replicas: Replica[] = [];
  private readonly stopping = new Set<Promise<void>>();

  constructor(
    private readonly ctx: ReplicaContext,
    record: DeploymentRecord,
  ) {
    this.record = record;
  }

  get spec(): JobSpec {
    return this.record.spec;
  }

  /** A new revision rolls; the same revision only changes the count. */
  apply(spec: JobSpec): void {
    this.record = { ...this.record, spec, desired: spec.replicas };
    this.persist();
    this.reconcile();
  }

  scale(count: number): void {
    this.record = { ...this.record, desired: count };
    this.persist();
    this.reconcile();
  }

  /**
   * Takes back replicas found on disk after a restart: live ones are adopted as they are, dead ones of
   * the current revision are restarted up to the desired count, and the rest are forgotten.
   */
  restore(found: Array<{ record: ReplicaRecord; handle: ProcessHandle | undefined }>): ReplicaRecord[] {
    const revision = this.spec.revisionId;
    const live = found.filter((f) => f.handle !== undefined);
    const liveCurrent = live.filter((f) => f.record.spec.revisionId === revision).length;
    const dead = found
      .filter((f) => f.handle === undefined && f.record.spec.revisionId === revision)
      .sort((a, b) => a.record.number - b.record.number);
    const restart = dead.slice(0, Math.max(0, this.record.desired - liveCurrent));
    for (const { record, handle } of [...live, ...restart]) this.start(record, handle);
    this.reconcile();
    return found.filter((f) => !live.includes(f) && !restart.includes(f)).map((f) => f.record);
  }

  statuses(): ReplicaStatus[] {
    return [...this.replicas].sort((a, b) => a.number - b.number).map((r) => r.status());
  }

  /** Current replicas in the order reconcile() retires them on a lower count: highest number first. */
  scaleDownOrder(): string[] {
    return this.current()
      .reverse()
      .map((r) => r.replicaId);
  }

  /** Replica ids in number order, for logs. */
  /** The incarnation of each replica whose process runs now. */
  incarnations(): Map<string, string> {
    return new Map(this.replicas.flatMap((r) => r.runningIncarnation()).map((i) => [i.replicaId, i.incarnation]));
  }

  replicaIds(): string[] {
    return [...this.replicas].sort((a, b) => a.number - b.number).map((r) => r.replicaId);
  }

  /** Stops every replica; `graceCapMs` bounds the grace period (server shutdown). */
  async stopAll(forget: boolean, graceCapMs = Infinity): Promise<void> {
    const stops = this.replicas.map((r) => {
      const graceMs = Math.min(r.spec.terminationGracePeriodSeconds * 1000, graceCapMs);
      return r.stop({ graceMs, forget });
    });
    await Promise.all([...stops, ...this.stopping]);
  }

  // ---- internals ----

  private reconcile(): void {
    const current = this.current();
    for (let n = current.length; n < this.record.desired; n++) this.add();
    for (const extra of current.slice(this.record.desired)) this.retire(extra); // the highest numbers go first
    this.checkRollout();
  }

  private checkRollout(): void {
    const old = this.replicas.filter((r) => r.spec.revisionId !== this.spec.revisionId && !r.isStopping());
    if (old.length === 0) return;
    const current = this.current();
    const rolled = current.filter((r) => r.isReady()).length >= this.record.desired;
    const stuck = current.some((r) => r.isStuck());
    for (const replica of old) if (rolled || stuck || !replica.isReady()) this.retire(replica);
  }

  /** Replicas of the current revision that are not being stopped, lowest number first. */
  private current(): Replica[] {
    return this.replicas
      .filter((r) => r.spec.revisionId === this.spec.revisionId && !r.isStopping())
      .sort((a, b) => a.number - b.number);
  }

  private add(): void {
    const { spec } = this;
    const number = this.record.nextNumber;
    this.record = { ...this.record, nextNumber: number + 1 };
    this.persist();
    const replicaId = replicaIdFor(spec, number);
    const record: ReplicaRecord = {
      replicaId,
      deploymentId: spec.deploymentId,
      number,
      spec,
      port: undefined,
      gpus: undefined,
      pid: undefined,
      pidStartTime: undefined,
      startedAt: undefined,
      readySince: undefined,
      restarts: 0,
    };
    // On disk before anything runs, so a server that dies now still knows this replica.
    this.ctx.files.writeReplica(record);
    this.start(record, undefined);
  }

  private start(record: ReplicaRecord, handle: ProcessHandle | undefined): void {
    if (handle) {
      // An adopted process still holds its GPUs and port.
      if (record.gpus) this.ctx.gpus.claim(record.gpus);
      if (record.port !== undefined) this.ctx.ports.claim(record.port);
    }
    const restored = handle ? record : { ...record, gpus: undefined, readySince: undefined };
    const replica = new Replica(this.ctx, restored, () => this.checkRollout());
    this.replicas.push(replica);
    replica.run(handle);
  }

  private retire(replica: Replica): void {
    const graceMs = replica.spec.terminationGracePeriodSeconds * 1000;
    const done = replica.stop({ graceMs, forget: true }).then(() => {
      this.replicas = this.replicas.filter((r) => r !== replica);
      this.stopping.delete(done);
    });
    this.stopping.add(done);
  }

  private persist(): void {
    this.ctx.files.writeDeployment(this.record);
  }
}

/** `<deployment name>-<revision, 8 characters>-<n>`: readable, and unique because n is never reused. */
export function replicaIdFor(spec: Pick<JobSpec, 'deploymentName' | 'revisionId'>, number: number): string {
  const revision = spec.revisionId.replace(/[^A-Za-z0-9]/g, '').toLowerCase().slice(-8);
  return `${spec.deploymentName}-${revision}-${number}`;
}

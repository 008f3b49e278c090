import type {
  JobSpec,
  LogLine,
  LogOptions,
  ReplicaExit,
  ReplicaStatus,
  Scheduler,
} from '../../src/scheduler/scheduler.js';

interface MemoryDeployment {
  spec: JobSpec;
  count: number;
  replicas: ReplicaStatus[];
  /** Next replica number; numbers are never reused, so ids stay unique. */
  next: number;
}

/**
 * In-memory Scheduler: replicas are records, not processes. By default a replica is Running and ready the
 * moment it appears (`autoReady: false` leaves it Waiting/ContainerCreating until `setReplica`). Every
 * replica that goes away (scale-down, stop, roll, `emitExit`) is reported to `onReplicaExit`, like the
 * real schedulers do, because the queue releases that replica's claims. Passes the Scheduler contract.
 */
export class MemoryScheduler implements Scheduler {
  readonly applyCalls: JobSpec[] = [];
  readonly scaleCalls: Array<{ deploymentId: string; count: number }> = [];
  readonly stopCalls: string[] = [];
  private readonly deployments = new Map<string, MemoryDeployment>();
  private readonly listeners = new Set<(exit: ReplicaExit) => void>();
  private readonly logLines = new Map<string, LogLine[]>();
  private readonly logWaiters = new Set<() => void>();
  private pendingFailure: Error | undefined;

  constructor(private readonly options: { autoReady?: boolean; now?: () => number } = {}) {}

  /** The next apply/scale/stop rejects with `err` (and changes nothing). */
  failNext(err: Error): void {
    this.pendingFailure = err;
  }

  async apply(spec: JobSpec): Promise<void> {
    this.takeFailure();
    this.applyCalls.push(spec);
    const existing = this.deployments.get(spec.deploymentId);
    if (existing && existing.spec.revisionId === spec.revisionId) {
      existing.spec = spec;
      return this.setCount(existing, spec.replicas);
    }
    if (existing) for (const replica of existing.replicas) this.remove(existing, replica, 'SIGTERM');
    const deployment = { spec, count: 0, replicas: [], next: existing?.next ?? 0 };
    this.deployments.set(spec.deploymentId, deployment);
    this.setCount(deployment, spec.replicas);
  }

  async scale(deploymentId: string, count: number): Promise<void> {
    this.takeFailure();
    this.scaleCalls.push({ deploymentId, count });
    const deployment = this.deployments.get(deploymentId);
    if (deployment) this.setCount(deployment, count);
  }

  async stop(deploymentId: string): Promise<void> {
    this.takeFailure();
    this.stopCalls.push(deploymentId);
    const deployment = this.deployments.get(deploymentId);
    if (!deployment) return;
    this.setCount(deployment, 0);
    this.deployments.delete(deploymentId);
    this.wakeLogReaders();
  }

  async replicas(deploymentId: string): Promise<ReplicaStatus[]> {
    return (this.deployments.get(deploymentId)?.replicas ?? []).map((r) => ({ ...r }));
  }

  /** Each replica that is not Terminated, as `<replica id>#<restarts>`: an exit (emitExit) makes a new one. */
  async incarnations(deploymentId: string): Promise<Map<string, string>> {
    const running = (this.deployments.get(deploymentId)?.replicas ?? []).filter((r) => r.state !== 'Terminated');
    return new Map(running.map((r) => [r.replicaId, `${r.replicaId}#${r.restarts}`]));
  }

  /** setCount() removes from the end, so the last replica goes first. */
  async scaleDownOrder(deploymentId: string): Promise<string[]> {
    return (this.deployments.get(deploymentId)?.replicas ?? []).map((r) => r.replicaId).reverse();
  }

  async *logs(deploymentId: string, options: LogOptions): AsyncIterable<LogLine[]> {
    let seen = 0;
    for (;;) {
      const lines = (this.logLines.get(deploymentId) ?? []).filter(
        (l) => !options.replicaId || l.replicaId === options.replicaId,
      );
      if (lines.length > seen) yield lines.slice(seen);
      seen = lines.length;
      if (!options.follow || options.signal?.aborted || !this.deployments.has(deploymentId)) return;
      await this.nextLogEvent(options.signal);
    }
  }

  onReplicaExit(listener: (exit: ReplicaExit) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- test controls ----

  /** Overwrites fields of one replica's status (e.g. state 'Waiting', reason 'CrashLoopBackOff'). */
  setReplica(replicaId: string, patch: Partial<ReplicaStatus>): void {
    const replica = this.findReplica(replicaId);
    if (!replica) throw new Error(`no replica ${replicaId}`);
    Object.assign(replica, patch);
  }

  /** Reports an exit of a replica (it stays listed, with one more restart, as a restarting process would). */
  emitExit(replicaId: string, ended: { code?: number; signal?: string } = { code: 1 }): void {
    const replica = this.findReplica(replicaId);
    if (!replica) throw new Error(`no replica ${replicaId}`);
    replica.restarts += 1;
    this.notify(replica, ended.code, ended.signal);
  }

  /** Appends log lines a replica "printed". */
  pushLogs(replicaId: string, lines: string[]): void {
    const replica = this.findReplica(replicaId);
    if (!replica) throw new Error(`no replica ${replicaId}`);
    for (const line of lines) this.pushLogLine(replica.deploymentId, replicaId, line);
  }

  /** The spec and desired count currently applied, for assertions. */
  applied(deploymentId: string): { spec: JobSpec; count: number } | undefined {
    const deployment = this.deployments.get(deploymentId);
    return deployment && { spec: deployment.spec, count: deployment.count };
  }

  // ---- internals ----

  private setCount(deployment: MemoryDeployment, count: number): void {
    deployment.count = count;
    while (deployment.replicas.length < count) deployment.replicas.push(this.newReplica(deployment));
    while (deployment.replicas.length > count) this.remove(deployment, deployment.replicas.at(-1)!, 'SIGTERM');
  }

  private newReplica(deployment: MemoryDeployment): ReplicaStatus {
    const { spec } = deployment;
    const replicaId = `${spec.deploymentName}-${spec.revisionId.slice(0, 8)}-${deployment.next++}`;
    const at = new Date((this.options.now ?? Date.now)()).toISOString();
    const ready = this.options.autoReady ?? true;
    this.pushLogLine(spec.deploymentId, replicaId, `replica ${replicaId} started`);
    return {
      replicaId,
      deploymentId: spec.deploymentId,
      revisionId: spec.revisionId,
      image: spec.image,
      state: ready ? 'Running' : 'Waiting',
      reason: ready ? undefined : 'ContainerCreating',
      message: undefined,
      readySince: ready ? at : undefined,
      startedAt: ready ? at : undefined,
      restarts: 0,
      address: ready ? { host: '127.0.0.1', port: 20000 + deployment.next } : undefined,
      volumePreload: undefined,
    };
  }

  private remove(deployment: MemoryDeployment, replica: ReplicaStatus, signal: string): void {
    deployment.replicas = deployment.replicas.filter((r) => r !== replica);
    this.notify(replica, undefined, signal);
  }

  private notify(replica: ReplicaStatus, code: number | undefined, signal: string | undefined): void {
    const at = new Date((this.options.now ?? Date.now)()).toISOString();
    const { deploymentId, replicaId, revisionId } = replica;
    for (const listener of this.listeners) listener({ deploymentId, replicaId, revisionId, code, signal, at });
  }

  private pushLogLine(deploymentId: string, replicaId: string, line: string): void {
    const kept = this.logLines.get(deploymentId) ?? [];
    kept.push({ replicaId, line });
    this.logLines.set(deploymentId, kept);
    this.wakeLogReaders();
  }

  private findReplica(replicaId: string): ReplicaStatus | undefined {
    for (const deployment of this.deployments.values()) {
      const found = deployment.replicas.find((r) => r.replicaId === replicaId);
      if (found) return found;
    }
    return undefined;
  }

  private nextLogEvent(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.logWaiters.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.logWaiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  private wakeLogReaders(): void {
    for (const wake of [...this.logWaiters]) wake();
  }

  private takeFailure(): void {
    const failure = this.pendingFailure;
    this.pendingFailure = undefined;
    if (failure) throw failure;
  }
}

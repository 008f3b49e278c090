import type { JobQueue } from '../../src/queue/queue.js';
import type { ReplicaStatus, Scheduler } from '../../src/scheduler/scheduler.js';
import type { Clock } from '../../src/shared/clock.js';

interface SimReplica {
  replicaId: string;
  number: number;
  startedAt: number;
  readyAt: number;
  stoppedAt?: number;
  job?: { requestId: string; until: number };
}

/**
 * A Scheduler double for the autoscaler simulation: replicas become ready `startupMs` after a scale-up,
 * a scale-down stops the highest numbers at once (as the local scheduler and Nomad do), and ready
 * replicas work like Sprocket workers against the real JobQueue (`work()`: report finished jobs, take
 * new ones). A stopped replica that held a job loses its claim, and that is counted: drains exist to
 * keep `lostClaims` at 0. Records scale calls and replica time.
 */
export class SimScheduler implements Pick<Scheduler, 'replicas' | 'incarnations' | 'scaleDownOrder' | 'scale'> {
  readonly scaleCalls: Array<{ at: number; count: number }> = [];
  lostClaims = 0;
  private live: SimReplica[] = [];
  private stopped: SimReplica[] = [];
  private next = 0;

  constructor(
    private readonly clock: Clock,
    private readonly startupMs: number,
    private readonly queue: Pick<JobQueue, 'retrieve' | 'update' | 'releaseReplica'>,
    private readonly onScaleUp: () => void,
  ) {}

  async scale(deploymentId: string, count: number): Promise<void> {
    const now = this.clock.now();
    if (count > this.live.length) this.onScaleUp();
    this.scaleCalls.push({ at: now, count });
    while (this.live.length < count) this.live.push(this.newReplica(now));
    while (this.live.length > count) this.stop(deploymentId, this.live.pop()!, now);
  }

  async replicas(deploymentId: string): Promise<ReplicaStatus[]> {
    return this.live.map((r) => this.statusOf(deploymentId, r));
  }

  /** A simulated replica runs one process for its whole life: its incarnation is its id. */
  async incarnations(): Promise<Map<string, string>> {
    return new Map(this.live.map((r) => [r.replicaId, r.replicaId]));
  }

  async scaleDownOrder(): Promise<string[]> {
    return this.live.map((r) => r.replicaId).reverse();
  }

  /** One round of every ready replica's worker loop; returns how many jobs finished. */
  async work(deploymentId: string): Promise<number> {
    const now = this.clock.now();
    let finished = 0;
    for (const r of [...this.live]) {
      if (r.readyAt > now) continue;
      if (r.job && r.job.until <= now) {
        await this.queue.update({ deploymentId, requestId: r.job.requestId, claimant: claimantOf(r), status: 'done', payload: {}, info: undefined });
        r.job = undefined;
        finished++;
      }
      if (!r.job) await this.claim(deploymentId, r, now);
    }
    return finished;
  }

  /** Replica time used so far (starting, running and busy all count: a GPU is held). */
  replicaMs(): number {
    const now = this.clock.now();
    return [...this.live, ...this.stopped].reduce((sum, r) => sum + ((r.stoppedAt ?? now) - r.startedAt), 0);
  }

  liveCount(): number {
    return this.live.length;
  }

  private async claim(deploymentId: string, r: SimReplica, now: number): Promise<void> {
    const got = await this.queue.retrieve({
      deploymentId,
      claimant: claimantOf(r),
      waitMs: 0,
      claimTimeoutSeconds: undefined,
      defaultLeaseSeconds: 300,
      signal: AbortSignal.abort(),
    });
    if (got) r.job = { requestId: got.record.request_id, until: now + Number(got.payload.jobMs ?? 0) };
  }

  private stop(deploymentId: string, r: SimReplica, now: number): void {
    r.stoppedAt = now;
    this.stopped.push(r);
    if (!r.job) return;
    this.lostClaims++;
    void this.queue.releaseReplica(deploymentId, r.replicaId, 'stopped by a scale-down');
  }

  private newReplica(now: number): SimReplica {
    const number = this.next++;
    return { replicaId: `sim-${number}`, number, startedAt: now, readyAt: now + this.startupMs };
  }

  private statusOf(deploymentId: string, r: SimReplica): ReplicaStatus {
    const ready = r.readyAt <= this.clock.now();
    return {
      replicaId: r.replicaId, deploymentId, revisionId: 'rev-1', image: 'sim',
      state: ready ? 'Running' : 'Waiting', reason: ready ? undefined : 'ContainerCreating', message: undefined,
      readySince: ready ? new Date(r.readyAt).toISOString() : undefined, startedAt: new Date(r.startedAt).toISOString(),
      restarts: 0, address: { host: '127.0.0.1', port: 30000 + r.number }, volumePreload: undefined,
    };
  }
}

function claimantOf(r: SimReplica) {
  return { key: `replica:${r.replicaId}`, replicaId: r.replicaId };
}

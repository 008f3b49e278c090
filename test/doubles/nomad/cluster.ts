import { randomUUID } from 'node:crypto';
import type { AllocationMetric, Allocation, ClientStatus, Deployment, Evaluation, Job, TaskState } from '../../../src/clients/nomad/types.js';
import { pickNode, placementFailure, type DoubleNode } from './placement.js';

/** Raft-like tables whose indexes blocking queries wait on. */
export type Table = 'jobs' | 'allocs' | 'evals' | 'deployment';

interface StoredJob {
  job: Job;
  versions: Job[];
}

const key = (ns: string, id: string) => `${ns}/${id}`;
const TERMINAL: ReadonlySet<ClientStatus> = new Set(['complete', 'failed', 'lost']);
export const isTerminal = (a: Allocation) => TERMINAL.has(a.ClientStatus) || a.DesiredStatus !== 'run';

/**
 * The Nomad double's state and its tiny scheduler. Every write takes the next index; each table remembers
 * the index of its last write, which is what reads report in `X-Nomad-Index` and blocking queries wait on.
 */
export class Cluster {
  index = 1;
  readonly tableIndex: Record<Table, number> = { jobs: 1, allocs: 1, evals: 1, deployment: 1 };
  readonly jobs = new Map<string, StoredJob>();
  readonly allocs = new Map<string, Allocation>();
  readonly evals = new Map<string, Evaluation>();
  readonly deployments = new Map<string, Deployment>();
  readonly logs = new Map<string, { stdout: Buffer; stderr: Buffer }>();
  private readonly waiters = new Set<() => void>();
  /** Called for every allocation placed (the double starts it when it runs allocations itself). */
  onPlaced: (alloc: Allocation) => void = () => undefined;
  /**
   * Stops keep a started task running (desired `stop`, client status unchanged) until `finishStop`, as a
   * Nomad client does for the kill timeout; default: the task ends at once.
   */
  gracefulStops = false;

  constructor(
    readonly nodes: DoubleNode[],
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes the next index for `tables` and wakes blocked readers. */
  bump(...tables: Table[]): number {
    this.index += 1;
    for (const t of tables) this.tableIndex[t] = this.index;
    for (const wake of [...this.waiters]) wake();
    return this.index;
  }

  /** Resolves on the next write, or after `ms`. */
  waitForChange(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  getJob(ns: string, id: string): StoredJob | undefined {
    return this.jobs.get(key(ns, id));
  }

  jobAllocs(ns: string, id: string): Allocation[] {
    return [...this.allocs.values()].filter((a) => a.Namespace === ns && a.JobID === id);
  }

  /** Stores a job version (a new one only when the spec changed, as Nomad does) and schedules it. */
  upsertJob(job: Job, trigger: string): { job: Job; evalId: string } {
    const existing = this.getJob(job.Namespace, job.ID);
    const index = this.bump('jobs');
    const changed = !existing || specOf(existing.job) !== specOf(job);
    const stored: Job = {
      ...job,
      Stop: job.Stop ?? false,
      Version: existing ? existing.job.Version! + (changed ? 1 : 0) : 0,
      CreateIndex: existing?.job.CreateIndex ?? index,
      ModifyIndex: index,
      JobModifyIndex: changed ? index : existing!.job.JobModifyIndex!,
      SubmitTime: this.now() * 1e6,
      Status: 'pending',
    };
    const versions = existing ? (changed ? [...existing.versions, stored] : [...existing.versions.slice(0, -1), stored]) : [stored];
    this.jobs.set(key(job.Namespace, job.ID), { job: stored, versions });
    return { job: stored, evalId: this.schedule(stored, trigger, changed) };
  }

  purgeJob(ns: string, id: string): void {
    this.jobs.delete(key(ns, id));
    this.bump('jobs');
  }

  /** Reconciles the job's allocations with its count and version; returns the evaluation's id. */
  schedule(job: Job, trigger: string, newVersion: boolean): string {
    const group = job.TaskGroups[0]!;
    const live = this.jobAllocs(job.Namespace, job.ID).filter((a) => !isTerminal(a));
    const outdated = live.filter((a) => newVersion && a.Job !== undefined && destructive(a.Job, job));
    for (const a of outdated) this.stopAlloc(a, 'alloc is being updated due to job update');
    for (const a of live.filter((x) => !outdated.includes(x) && x.JobVersion !== job.Version)) this.updateAlloc(a, { JobVersion: job.Version!, Job: job });
    const current = live.filter((a) => !outdated.includes(a));
    const want = job.Stop ? 0 : group.Count;
    const extra = current.sort((a, b) => indexOf(b) - indexOf(a)).slice(0, Math.max(0, current.length - want));
    for (const a of extra) this.stopAlloc(a, 'alloc not needed due to job update');
    const missing = Math.max(0, want - (current.length - extra.length));
    const failure = missing > 0 ? placementFailure(job, this.nodes, this.usedDevices(), missing) : undefined;
    const placed = failure ? missing - failure.unplaced : missing;
    const deploymentId = placed > 0 && group.Update ? this.startDeployment(job) : undefined;
    for (let i = 0; i < placed; i++) this.place(job, deploymentId, current.filter((a) => !extra.includes(a)));
    return this.createEval(job, trigger, failure?.metric, failure?.unplaced ?? 0, deploymentId);
  }

  private usedDevices(): Map<string, number> {
    const used = new Map<string, number>();
    for (const a of this.allocs.values()) {
      if (isTerminal(a) || !a.NodeID) continue;
      const count = a.Job?.TaskGroups[0]?.Tasks[0]?.Resources.Devices?.reduce((n, d) => n + d.Count, 0) ?? 0;
      used.set(a.NodeID, (used.get(a.NodeID) ?? 0) + count);
    }
    return used;
  }

  private place(job: Job, deploymentId: string | undefined, keep: Allocation[]): Allocation {
    const taken = new Set([...keep, ...this.jobAllocs(job.Namespace, job.ID).filter((a) => !isTerminal(a))].map(indexOf));
    let i = 0;
    while (taken.has(i)) i++;
    const index = this.bump('allocs');
    const node = pickNode(job, this.nodes, this.usedDevices());
    const alloc: Allocation = {
      ID: randomUUID(), EvalID: '', Name: `${job.ID}.${job.TaskGroups[0]!.Name}[${i}]`, Namespace: job.Namespace,
      NodeID: node.id, NodeName: node.name, JobID: job.ID, JobVersion: job.Version!, TaskGroup: job.TaskGroups[0]!.Name,
      DesiredStatus: 'run', ClientStatus: 'pending', TaskStates: null, DeploymentStatus: null,
      CreateIndex: index, ModifyIndex: index, CreateTime: this.now() * 1e6, ModifyTime: this.now() * 1e6,
      AllocatedResources: { Shared: { Ports: [{ Label: 'http', Value: 20000 + (index % 10000), To: 8000, HostIP: node.address }] } },
      Job: job,
      ...(deploymentId ? { DeploymentID: deploymentId } : {}),
    } as Allocation;
    this.allocs.set(alloc.ID, alloc);
    this.logs.set(alloc.ID, { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) });
    this.onPlaced(alloc);
    return alloc;
  }

  stopAlloc(a: Allocation, why: string): void {
    if (this.gracefulStops && a.ClientStatus === 'running') {
      this.updateAlloc(a, { DesiredStatus: 'stop', DesiredDescription: why } as Partial<Allocation>);
      return;
    }
    this.updateAlloc(a, { DesiredStatus: 'stop', DesiredDescription: why } as Partial<Allocation>);
    this.finishStop(a);
  }

  /** The task of a stopped allocation has exited: the allocation is complete. */
  finishStop(a: Allocation): void {
    for (const t of Object.values(a.TaskStates ?? {})) Object.assign(t, { State: 'dead', FinishedAt: new Date(this.now()).toISOString() });
    this.updateAlloc(a, { ClientStatus: 'complete' });
  }

  updateAlloc(a: Allocation, fields: Partial<Allocation>): void {
    Object.assign(a, fields, { ModifyIndex: this.bump('allocs'), ModifyTime: this.now() * 1e6 });
    if (a.DeploymentID) this.settleDeployment(a.DeploymentID);
  }

  /** A running task state with `events`. */
  taskState(state: TaskState['State'], events: TaskState['Events'], extra: Partial<TaskState> = {}): TaskState {
    return { State: state, Failed: false, Restarts: 0, LastRestart: null, StartedAt: null, FinishedAt: null, Events: events, ...extra };
  }

  private startDeployment(job: Job): string {
    for (const d of this.deployments.values()) {
      if (d.JobID === job.ID && d.Status === 'running') Object.assign(d, { Status: 'cancelled', StatusDescription: 'Cancelled due to newer version of job' });
    }
    const index = this.bump('deployment');
    const d: Deployment = { ID: randomUUID(), JobID: job.ID, JobVersion: job.Version!, Status: 'running', StatusDescription: 'Deployment is running', CreateIndex: index, ModifyIndex: index };
    (d as Deployment & { Namespace: string }).Namespace = job.Namespace;
    this.deployments.set(d.ID, d);
    return d.ID;
  }

  /** A deployment succeeds when all its allocations are healthy, and fails when one is unhealthy. */
  settleDeployment(id: string): void {
    const d = this.deployments.get(id);
    if (!d || d.Status !== 'running') return;
    const allocs = [...this.allocs.values()].filter((a) => a.DeploymentID === id && a.DesiredStatus === 'run');
    const health = allocs.map((a) => a.DeploymentStatus?.Healthy);
    const next = health.includes(false) ? ['failed', 'Failed due to unhealthy allocations'] : health.length > 0 && health.every((h) => h === true) ? ['successful', 'Deployment completed successfully'] : undefined;
    if (next) Object.assign(d, { Status: next[0], StatusDescription: next[1], ModifyIndex: this.bump('deployment') });
  }

  private createEval(job: Job, trigger: string, metric: AllocationMetric | undefined, unplaced: number, deploymentId: string | undefined): string {
    const index = this.bump('evals');
    const group = job.TaskGroups[0]!.Name;
    const blocked = metric ? randomUUID() : undefined;
    const e: Evaluation = {
      ID: randomUUID(), JobID: job.ID, Namespace: job.Namespace, Status: 'complete', TriggeredBy: trigger,
      FailedTGAllocs: metric ? { [group]: metric } : null, QueuedAllocations: { [group]: unplaced },
      ...(blocked ? { BlockedEval: blocked } : {}), CreateIndex: index, ModifyIndex: index,
      ...(deploymentId ? { DeploymentID: deploymentId } : {}),
    } as Evaluation;
    this.evals.set(e.ID, e);
    if (blocked) this.evals.set(blocked, { ...e, ID: blocked, Status: 'blocked', FailedTGAllocs: null, BlockedEval: '', StatusDescription: 'created to place remaining allocations' } as Evaluation);
    return e.ID;
  }
}

/** The alloc index in `job.group[3]`. */
export function indexOf(a: Pick<Allocation, 'Name'>): number {
  return Number(/\[(\d+)\]$/.exec(a.Name)?.[1] ?? -1);
}

/** Whether moving from `from` to `to` replaces allocations (anything but counts and scaling bounds changed). */
function destructive(from: Job, to: Job): boolean {
  const shape = (j: Job) => specOf({ ...j, TaskGroups: j.TaskGroups.map(({ Count: _c, Scaling: _s, ...g }) => g) } as Job);
  return shape(from) !== shape(to);
}

/** The job without server-set fields and counts: what makes a new version. */
function specOf(job: Job): string {
  const { Stop: _s, Status: _st, Version: _v, CreateIndex: _c, ModifyIndex: _m, JobModifyIndex: _j, SubmitTime: _t, ...rest } = job;
  return JSON.stringify({ ...rest, Stop: job.Stop ?? false });
}

import type { AllocListStub, AllocationMetric, Evaluation, TaskEvent, TaskState } from '../../clients/nomad/types.js';
import type { ReplicaStatus } from '../scheduler.js';

/** What a job version ran: its revision and image (from the version's meta and task config). */
export interface VersionInfo {
  revisionId: string;
  image: string;
}

/** compat.md §8.15: a replica that restarted 3 times within 10 minutes is crash-looping. */
const CRASH_LOOP_RESTARTS = 3;
const CRASH_LOOP_WINDOW_MS = 10 * 60_000;

const ms = (event: TaskEvent) => event.Time / 1e6;
const iso = (millis: number) => new Date(millis).toISOString();

export function isCrashLooping(task: TaskState | undefined, now: number): boolean {
  if (!task) return false;
  const recent = task.Events.filter((e) => e.Type === 'Restarting' && now - ms(e) <= CRASH_LOOP_WINDOW_MS).length;
  return recent >= CRASH_LOOP_RESTARTS || (task.Failed && task.Restarts >= CRASH_LOOP_RESTARTS);
}

/** The last event that says why a task is not running (its message, or its exit code). */
function lastProblem(task: TaskState | undefined): string | undefined {
  const event = [...(task?.Events ?? [])].reverse().find((e) => ['Terminated', 'Driver Failure', 'Setup Failure', 'Failed Artifact Download', 'Not Restarting', 'Killed'].includes(e.Type));
  if (!event) return undefined;
  const exit = event.Details?.exit_code;
  return event.DisplayMessage || event.Message || (exit !== undefined ? `${event.Type}: exit code ${exit}` : event.Type);
}

/** Volume preload from the artifact events (compat.md §5.3 `volume_preload_*`). */
function preloadOf(task: TaskState | undefined): ReplicaStatus['volumePreload'] {
  const events = task?.Events ?? [];
  const started = events.find((e) => e.Type === 'Downloading Artifacts');
  if (!started) return undefined;
  const failed = events.find((e) => e.Type === 'Failed Artifact Download');
  if (failed) return { status: 'Failed', startedAt: iso(ms(started)) };
  const done = events.find((e) => ms(e) >= ms(started) && e !== started && ['Started', 'Driver', 'Task Setup'].includes(e.Type));
  return done ? { status: 'Completed', startedAt: iso(ms(started)), completedAt: iso(ms(done)) } : { status: 'InProgress', startedAt: iso(ms(started)) };
}

function stateAndReason(alloc: AllocListStub, task: TaskState | undefined, now: number): Pick<ReplicaStatus, 'state' | 'reason'> {
  const looping = isCrashLooping(task, now);
  switch (alloc.ClientStatus) {
    case 'pending':
      return { state: 'Waiting', reason: looping ? 'CrashLoopBackOff' : 'ContainerCreating' };
    case 'running':
      if (looping) return { state: task?.State === 'running' ? 'Running' : 'Waiting', reason: 'CrashLoopBackOff' };
      return task?.State === 'running' ? { state: 'Running', reason: undefined } : { state: 'Waiting', reason: 'ContainerCreating' };
    case 'complete':
      return { state: 'Terminated', reason: 'Completed' };
    default:
      return { state: 'Terminated', reason: looping ? 'CrashLoopBackOff' : 'Error' };
  }
}

/**
 * Ready = the task runs and Nomad's deployment judged it healthy (by task state, compat.md §8.32); an
 * allocation outside any deployment is ready once its task runs.
 */
function readySince(alloc: AllocListStub, task: TaskState | undefined, looping: boolean): string | undefined {
  if (alloc.ClientStatus !== 'running' || task?.State !== 'running' || looping) return undefined;
  const health = alloc.DeploymentStatus;
  if (health && health.Healthy === true) return health.Timestamp;
  if (health && health.Healthy === false) return undefined;
  return health ? undefined : (task.StartedAt ?? undefined);
}

export interface ReplicaInput {
  alloc: AllocListStub;
  deploymentId: string;
  version: VersionInfo;
  address: ReplicaStatus['address'];
  now: number;
}

/** One allocation as a replica (its id is the allocation id, which is also the container's hostname). */
export function replicaOf({ alloc, deploymentId, version, address, now }: ReplicaInput): ReplicaStatus {
  const task = Object.values(alloc.TaskStates ?? {})[0];
  const { state, reason } = stateAndReason(alloc, task, now);
  return {
    replicaId: alloc.ID,
    deploymentId,
    revisionId: version.revisionId,
    image: version.image,
    state,
    reason,
    message: reason ? lastProblem(task) ?? alloc.ClientDescription : undefined,
    readySince: readySince(alloc, task, reason === 'CrashLoopBackOff'),
    startedAt: task?.StartedAt ?? undefined,
    restarts: Object.values(alloc.TaskStates ?? {}).reduce((n, t) => n + t.Restarts, 0),
    address: state === 'Running' ? address : undefined,
    volumePreload: preloadOf(task),
  };
}

/** Nomad's placement metric in words: "no node has the devices asked for (3 nodes filtered: missing devices)". */
export function describePlacementFailure(metric: AllocationMetric): string {
  const parts = [
    ...Object.entries(metric.ConstraintFiltered ?? {}).map(([why, n]) => `${n} filtered by ${why}`),
    ...Object.entries(metric.ClassFiltered ?? {}).map(([why, n]) => `${n} filtered by class ${why}`),
    ...Object.entries(metric.DimensionExhausted ?? {}).map(([why, n]) => `${n} exhausted on ${why}`),
  ];
  return `cannot be placed: ${metric.NodesEvaluated} nodes evaluated${parts.length ? `; ${parts.join('; ')}` : ''}`;
}

/**
 * Replicas Nomad could not place, from the latest evaluation's FailedTGAllocs (hashicorp.md §6.10): shown as
 * `Waiting`/`Unschedulable` with Nomad's reason instead of leaving the deployment waiting silently.
 */
export function unplacedReplicas(evaluation: Evaluation | undefined, group: string, deploymentId: string, version: VersionInfo): ReplicaStatus[] {
  const metric = evaluation?.FailedTGAllocs?.[group];
  if (!evaluation || !metric) return [];
  const count = Math.max(1, evaluation.QueuedAllocations?.[group] ?? 1);
  return Array.from({ length: count }, (_, i) => ({
    replicaId: `unplaced-${evaluation.ID.slice(0, 8)}-${i}`,
    deploymentId,
    revisionId: version.revisionId,
    image: version.image,
    state: 'Waiting' as const,
    reason: 'Unschedulable',
    message: describePlacementFailure(metric),
    readySince: undefined,
    startedAt: undefined,
    restarts: 0,
    address: undefined,
    volumePreload: undefined,
  }));
}

/**
 * The Scheduler seam: runs a deployment's replicas somewhere. The embedded default runs them as local
 * child processes (`local/`); the cluster runs them as a Nomad job (`nomad/`). Everything above this
 * interface (deployments, queue, autoscaler) is written once.
 *
 * Terminology: a *deployment* has a current *revision* (its replicas' spec; a new revision rolls the
 * replicas) and a desired replica count. A *replica* is one running copy (a child process, an allocation).
 */

/** What to run: a scheduler-neutral rendering of a deployment at one revision (`deployments/to-job-spec.ts`). */
export interface JobSpec {
  deploymentId: string;
  deploymentName: string;
  revisionId: string;
  /** Container image (what the cluster runs). */
  image: string;
  /**
   * A project directory on the server's own machine (embedded default only): the replica runs `cmd` there
   * instead of running `image`. `python` projects (a pyproject.toml) run in a virtualenv Gantry prepares.
   */
  source: LocalSource | undefined;
  /** Container entrypoint override (compat.md §8.7). */
  command: string[] | undefined;
  /** Container arguments override. */
  args: string[] | undefined;
  /** Plain environment, platform values included (compat.md §8.14), except the per-replica TOGETHER_API_KEY. */
  env: Record<string, string>;
  /** Environment from secrets (`value_from_secret`), resolved. Never logged, never put in a cluster job. */
  secretEnv: Record<string, string>;
  /** The port the replica serves HTTP on (local replicas get their own and are told with PORT). */
  port: number;
  /** Health check path; undefined disables checks. */
  healthCheckPath: string | undefined;
  cpu: number;
  memoryGiB: number;
  storageGiB: number;
  gpuType: string;
  gpuCount: number;
  volumes: VolumeMountSpec[];
  terminationGracePeriodSeconds: number;
  /** Desired replica count at apply time. */
  replicas: number;
  /** The deployment's bounds on `replicas` (a Nomad group's `Scaling` block); default: none. */
  minReplicas?: number;
  maxReplicas?: number;
  /** Cluster job id, fixed at create (compat.md §8.24); default: derived from `deploymentName`. */
  jobId?: string;
}

export interface LocalSource {
  /** Absolute path of the project directory. */
  path: string;
  /** argv to run in `path` (from `[tool.jig.image].cmd`, shell-split). */
  cmd: string[];
  /** Whether the project is a Python project (pyproject.toml) that needs a virtualenv. */
  python: boolean;
  /** `[project].dependencies` of a Python project, to install into its virtualenv. */
  dependencies: string[];
}

export interface VolumeMountSpec {
  name: string;
  mountPath: string;
  version: number;
  /** Directory on the server's machine holding exactly this version's files (local scheduler). */
  hostPath: string;
}

export type ReplicaState = 'Running' | 'Waiting' | 'Terminated';

/** One replica as the scheduler sees it; the deployment's `replica_events` are built from these. */
export interface ReplicaStatus {
  replicaId: string;
  deploymentId: string;
  revisionId: string;
  image: string;
  state: ReplicaState;
  /** Kubernetes-style reason where one fits: CrashLoopBackOff, ContainerCreating, Error, Completed, … */
  reason: string | undefined;
  message: string | undefined;
  /** RFC 3339 time since which the health check has passed (undefined: not ready). */
  readySince: string | undefined;
  startedAt: string | undefined;
  restarts: number;
  /** Where the replica serves HTTP, for direct requests and metric scrapes. */
  address: { host: string; port: number } | undefined;
  volumePreload: { status: 'InProgress' | 'Completed' | 'Failed'; startedAt?: string; completedAt?: string } | undefined;
}

export interface LogLine {
  replicaId: string;
  line: string;
}

export interface LogOptions {
  replicaId?: string;
  /** Keep yielding new lines until `signal` aborts (or the replicas are gone). */
  follow?: boolean;
  signal?: AbortSignal;
}

export interface ReplicaExit {
  deploymentId: string;
  replicaId: string;
  revisionId: string;
  /** Exit code, or undefined when ended by a signal. */
  code: number | undefined;
  signal: string | undefined;
  at: string;
}

export interface Scheduler {
  /** Creates or updates the deployment's replicas; a new revision replaces the old replicas (rolling). */
  apply(spec: JobSpec): Promise<void>;
  /** Sets the desired replica count of an applied deployment. */
  scale(deploymentId: string, count: number): Promise<void>;
  /** Stops every replica (SIGTERM, then SIGKILL after the grace period) and forgets the deployment. */
  stop(deploymentId: string): Promise<void>;
  replicas(deploymentId: string): Promise<ReplicaStatus[]>;
  /**
   * Ids of the deployment's current replicas in the order a scale-down stops them, first stopped first
   * (local: highest replica number; Nomad: highest allocation index). The autoscaler drains these before
   * lowering the count, so no replica holding a claim is stopped.
   */
  scaleDownOrder(deploymentId: string): Promise<string[]>;
  /**
   * The incarnation of each of the deployment's replicas whose process runs now: replica id → an id that
   * changes whenever the replica's process is replaced (a restart under the same name, a new allocation)
   * and stays while it runs, also across a restart of the server that adopts it (local: a per-start id
   * kept in the replica's state file; Nomad: `<allocation id>:<task restart count>`). A replica that is
   * not listed runs no process. The queue binds a replica's claims to the incarnation that made them.
   */
  incarnations(deploymentId: string): Promise<Map<string, string>>;
  /** Batches of log lines: what is kept first, then (with `follow`) new lines as they come. */
  logs(deploymentId: string, options: LogOptions): AsyncIterable<LogLine[]>;
  /** Called for every replica that ends (the queue releases its claims at once). Returns an unsubscribe. */
  onReplicaExit(listener: (exit: ReplicaExit) => void): () => void;
}

/** Issues and revokes the per-replica worker tokens a scheduler hands to replicas as TOGETHER_API_KEY. */
export interface WorkerTokens {
  issue(deploymentId: string, replicaId: string): Promise<string>;
  revoke(deploymentId: string, replicaId?: string): Promise<void>;
}

/** The deployment's spec cannot run on this scheduler (e.g. an image on the embedded default). */
export class UnsupportedSpecError extends Error {
  override readonly name = 'UnsupportedSpecError';
}

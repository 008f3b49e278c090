/**
 * Deployments. Terminology:
 * - *spec*: what the user asked for, defaults filled (`canonicalize.ts`);
 * - *record*: the spec plus what Gantry fixed or derived (id, job id, revision, desired count), as stored;
 * - *revision*: the identity of what the replicas run. Fields that change the replicas (image, command,
 *   environment, resources, volumes, …) and the values of the secrets they use make a new revision; count,
 *   description, name and autoscaling do not;
 * - *view*: the record as the API returns it (compat.md §5.1), with status and replica events.
 */

export interface EnvironmentVariable {
  name: string;
  value?: string;
  value_from_secret?: string;
}

export interface VolumeMount {
  name: string;
  mount_path: string;
  /** Pinned version (compat.md §8.13): literal when sent, else the volume's current version at deploy. */
  version: number;
  /** The volume's id, fixed when the mount was resolved, so a renamed volume stays mounted. */
  volume_id?: string;
}

export type Autoscaling =
  | { metric: 'QueueBacklogPerWorker'; target: number; model: string }
  | { metric: 'CustomMetric'; target: number; custom_metric_name: string }
  | { metric: 'HTTPTotalRequests' | 'HTTPAvgRequestDuration'; target: number; time_interval_minutes: number };

/** Gantry extension: run a project directory of the server's machine (embedded default). */
export interface SourceRef {
  /** Absolute path of the project directory. */
  path: string;
  /** The command, as `[tool.jig.image].cmd` would say it; read from the project's config when absent. */
  cmd?: string;
  /** The config file within `path` (`jig.toml`, `pyproject.toml`, or another), when not the default. */
  config?: string;
  /**
   * The real path of `path` when the caller was allowed to name it (source-access.ts). Internal, never
   * shown: a kept source whose real path has changed since (a symbolic link swapped) is checked again.
   */
  real_path?: string;
}

export interface DeploymentSpec {
  description: string;
  image: string;
  gpu_type: string;
  gpu_count: number;
  cpu: number;
  memory: number;
  storage: number;
  min_replicas: number;
  max_replicas: number;
  port: number;
  health_check_path: string;
  termination_grace_period_seconds: number;
  command: string[];
  args: string[];
  environment_variables: EnvironmentVariable[];
  volumes: VolumeMount[];
  autoscaling: Autoscaling | null;
  x_gantry_source: SourceRef | null;
}

export interface DeploymentRecord extends DeploymentSpec {
  id: string;
  name: string;
  /** Nomad job id / Consul service name, derived from the name at create and fixed after (§8.24). */
  job_id: string;
  revision_id: string;
  /** Hash of everything that defines a revision; a PATCH that changes it makes a new revision_id. */
  revision_fingerprint: string;
  desired_replicas: number;
  created_at: string;
  updated_at: string;
  /** Names this deployment had before renames; accepted until the replicas rolled (§8.24). */
  previous_names: string[];
  /** Human-readable notes about the spec (e.g. platform variables overriding the deployment's, §8.14). */
  warnings: string[];
}

export type DeploymentStatus = 'Updating' | 'Scaling' | 'Ready' | 'Failed' | 'ScaledToZero';

export interface ReplicaEvent {
  image: string;
  revision_id: string;
  replica_status: string;
  replica_status_reason?: string;
  replica_status_message?: string;
  replica_ready_since?: string;
  volume_preload_status?: string;
  volume_preload_started_at?: string;
  volume_preload_completed_at?: string;
}

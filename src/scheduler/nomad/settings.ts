import type { Constraint } from '../../clients/nomad/types.js';

/**
 * What a Nomad job needs from the cluster's configuration besides the deployment itself. Resolved once
 * from the server configuration (`config/`), so translation stays a pure function of its inputs.
 */
export interface ClusterSettings {
  /** Nomad namespace the jobs run in (default: default). */
  namespace: string;
  /** Nomad region (default: global). */
  region: string;
  /** Datacenters a job may run in (default: ["*"], every one). */
  datacenters: string[];
  /** Node pool for workers (default: none, Nomad's `default` pool). */
  nodePool: string | undefined;
  /** Constraints added to every job, e.g. `${node.class} = gpu` (default: none). */
  constraints: Constraint[];
  /** Vault role of the workload-identity login (default: none, the auth method's default role). */
  vaultRole: string | undefined;
  /** Docker `image_pull_timeout` in seconds; GPU images are large (default: 1800). */
  imagePullTimeoutSeconds: number;
  /** Update `HealthyDeadline` in seconds: model downloads and loads are slow (default: 3600). */
  healthyDeadlineSeconds: number;
  /** Update `ProgressDeadline` in seconds; must exceed the healthy deadline (default: 7200). */
  progressDeadlineSeconds: number;
  /** Update `MinHealthyTime` in seconds: how long a task must run to count as healthy (default: 10). */
  minHealthyTimeSeconds: number;
  /**
   * Who registers the workers' service: `consul` (default), or `nomad`'s native discovery when the cluster
   * runs no Consul (a Consul service adds an implicit `${attr.consul.version}` constraint no node would meet).
   */
  serviceProvider: 'consul' | 'nomad';
  /** MHz asked for per CPU core when a deployment asks for a fractional core count (default: 1000). */
  mhzPerCore: number;
}

export const DEFAULT_CLUSTER_SETTINGS: ClusterSettings = {
  namespace: 'default',
  region: 'global',
  datacenters: ['*'],
  nodePool: undefined,
  constraints: [],
  vaultRole: undefined,
  imagePullTimeoutSeconds: 1800,
  healthyDeadlineSeconds: 3600,
  progressDeadlineSeconds: 7200,
  minHealthyTimeSeconds: 10,
  serviceProvider: 'consul',
  mhzPerCore: 1000,
};

/** Nomad's name for the only task group and task of a worker job. */
export const GROUP_NAME = 'worker';
export const TASK_NAME = 'worker';
/** The port label of the worker's HTTP port. */
export const PORT_LABEL = 'http';

/** Seconds as Nomad's integer nanoseconds. */
export function seconds(s: number): number {
  return Math.round(s * 1e9);
}

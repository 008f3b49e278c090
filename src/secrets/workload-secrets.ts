/**
 * Where a cluster scheduler's jobs read their secret environment from (hashicorp.md: Vault workload
 * identity). At deploy, the deployment's resolved secret variables and its worker token are written to the
 * job's own path (`<namespace>/<job id>/env` in Vault KV v2, which Nomad's default workload-identity policy
 * lets that job alone read); the Nomad job's `template` block renders exactly that path into env. Values
 * never appear in the job itself.
 */
export interface WorkloadPath {
  /** The Nomad namespace the job runs in (`default` when none is configured). */
  namespace: string;
  jobId: string;
}

export interface WorkloadSecrets {
  /** Replaces the job's secret environment with `env` (every key a variable name). */
  put(path: WorkloadPath, env: Record<string, string>): Promise<void>;
  /** Removes the job's secret environment (every version); no error when there is none. */
  remove(path: WorkloadPath): Promise<void>;
  /** The KV v2 path a Nomad template reads, e.g. `secret/data/default/<job id>/env`. */
  templatePath(path: WorkloadPath): string;
}

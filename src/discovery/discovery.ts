/**
 * Worker discovery (DESIGN.md, Coordinator seam): where a deployment's healthy replicas serve HTTP, for
 * the direct-HTTP proxy (compat.md §8.20) and CustomMetric scrapes. The embedded default (and Nomad without
 * Consul) asks the Scheduler; the cluster follows Consul's health API with blocking queries.
 */
export interface Endpoint {
  replicaId: string;
  address: { host: string; port: number };
}

/** The deployment fields discovery needs: its id, and its job id (the Consul service name on Nomad). */
export interface DeploymentRef {
  id: string;
  job_id: string;
}

export interface ReplicaDiscovery {
  /** The replicas passing their health checks now. */
  healthy(deployment: DeploymentRef): Promise<Endpoint[]>;
  close(): Promise<void>;
}

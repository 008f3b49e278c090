import type { ConsulClient } from '../../clients/consul/index.js';
import { HealthyReplicas, type HealthyReplica } from '../../coordinator/consul/healthy-replicas.js';
import type { Logger } from '../../shared/logger.js';
import type { DeploymentRef, Endpoint, ReplicaDiscovery } from '../discovery.js';

/** Nomad names a task's Consul service `_nomad-task-<allocation id>-<group>-<task>-<service>`. */
const NOMAD_SERVICE_ID = /^_nomad-task-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-/;

/**
 * Healthy replicas from Consul's health API (`passing` only): one blocking-query watcher per deployment's
 * service (its Nomad job id), started on first use and kept current in the background, never polled.
 */
export class ConsulDiscovery implements ReplicaDiscovery {
  private readonly watchers = new Map<string, Promise<HealthyReplicas>>();

  constructor(private readonly options: { client: ConsulClient; logger: Logger; closeClient?: boolean }) {}

  async healthy(deployment: DeploymentRef): Promise<Endpoint[]> {
    const watcher = await this.watcher(deployment.job_id);
    return watcher.current().map(toEndpoint);
  }

  async close(): Promise<void> {
    const watchers = [...this.watchers.values()];
    this.watchers.clear();
    await Promise.all(watchers.map(async (w) => (await w.catch(() => undefined))?.close()));
    if (this.options.closeClient) this.options.client.close();
  }

  /** The service's watcher; a first read that fails is not kept, so the next call tries again. */
  private watcher(service: string): Promise<HealthyReplicas> {
    const existing = this.watchers.get(service);
    if (existing) return existing;
    const watcher = new HealthyReplicas({ client: this.options.client, service, logger: this.options.logger });
    const started = watcher.start().then(() => watcher);
    started.catch(() => this.watchers.delete(service));
    this.watchers.set(service, started);
    return started;
  }
}

/** The replica id is the allocation id where Nomad registered the service (what the scheduler reports). */
function toEndpoint(replica: HealthyReplica): Endpoint {
  const replicaId = NOMAD_SERVICE_ID.exec(replica.id)?.[1] ?? replica.id;
  return { replicaId, address: { host: replica.address, port: replica.port } };
}

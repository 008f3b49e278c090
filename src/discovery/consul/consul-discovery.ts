import type { ConsulClient } from '../../clients/consul/index.js';
import { HealthyReplicas, type HealthyReplica } from '../../coordinator/consul/healthy-replicas.js';
import type { Logger } from '../../shared/logger.js';
import type { DeploymentRef, Endpoint, ReplicaDiscovery } from '../discovery.js';

/** Nomad names a task's Consul service `_nomad-task-<allocation id>-<group>-<task>-<service>`. */
const NOMAD_SERVICE_ID = /^_nomad-task-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-/;

export interface ConsulDiscoveryOptions {
  client: ConsulClient;
  logger: Logger;
  closeClient?: boolean;
  /** A watcher nobody asked for this long is closed, ms (default: 10 minutes). */
  idleMs?: number;
}

interface Watch {
  started: Promise<HealthyReplicas>;
  usedAt: number;
}

const DEFAULT_IDLE_MS = 10 * 60_000;

/**
 * Healthy replicas from Consul's health API (`passing` only): one blocking-query watcher per deployment's
 * service (its Nomad job id), started on first use and kept current in the background, never polled. A
 * watcher unused for `idleMs` is closed (a deleted deployment, or one nobody calls directly any more: a
 * deletion may be served by another replica, so this replica cannot count on hearing of it); the next
 * call starts it again.
 */
export class ConsulDiscovery implements ReplicaDiscovery {
  private readonly watchers = new Map<string, Watch>();
  private readonly idleMs: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: ConsulDiscoveryOptions) {
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.sweeper = setInterval(() => void this.closeIdle(), Math.max(1_000, this.idleMs / 4));
    this.sweeper.unref();
  }

  async healthy(deployment: DeploymentRef): Promise<Endpoint[]> {
    const watcher = await this.watcher(deployment.job_id);
    return watcher.current().map(toEndpoint);
  }

  /** Services watched right now. */
  get watched(): string[] {
    return [...this.watchers.keys()];
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const services = [...this.watchers.keys()];
    await Promise.all(services.map((service) => this.stopWatching(service)));
    if (this.options.closeClient) this.options.client.close();
  }

  /** Closes the watchers unused for `idleMs`. */
  async closeIdle(now = Date.now()): Promise<void> {
    const idle = [...this.watchers].filter(([, w]) => now - w.usedAt >= this.idleMs).map(([service]) => service);
    await Promise.all(idle.map((service) => this.stopWatching(service)));
  }

  /** The service's watcher; a first read that fails is not kept, so the next call tries again. */
  private watcher(service: string): Promise<HealthyReplicas> {
    const existing = this.watchers.get(service);
    if (existing) {
      existing.usedAt = Date.now();
      return existing.started;
    }
    const watcher = new HealthyReplicas({ client: this.options.client, service, logger: this.options.logger });
    const started = watcher.start().then(() => watcher);
    started.catch(() => this.watchers.delete(service));
    this.watchers.set(service, { started, usedAt: Date.now() });
    return started;
  }

  private async stopWatching(service: string): Promise<void> {
    const watch = this.watchers.get(service);
    this.watchers.delete(service);
    await (await watch?.started.catch(() => undefined))?.close();
  }
}

/** The replica id is the allocation id where Nomad registered the service (what the scheduler reports). */
function toEndpoint(replica: HealthyReplica): Endpoint {
  const replicaId = NOMAD_SERVICE_ID.exec(replica.id)?.[1] ?? replica.id;
  return { replicaId, address: { host: replica.address, port: replica.port } };
}

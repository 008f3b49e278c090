import { consulClientFrom } from '../clients/consul/from-settings.js';
import type { ServerConfig } from '../config/schema.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Logger } from '../shared/logger.js';
import { ConsulDiscovery } from './consul/consul-discovery.js';
import type { ReplicaDiscovery } from './discovery.js';
import { SchedulerDiscovery } from './scheduler-discovery.js';

/**
 * Consul's health API when Nomad registers worker services in Consul (NOMAD_ADDR and CONSUL_HTTP_ADDR),
 * else the Scheduler's own view (local processes; Nomad's built-in service discovery).
 */
export function buildDiscovery(config: ServerConfig, deps: { scheduler: Pick<Scheduler, 'replicas'>; logger: Logger }): ReplicaDiscovery {
  const consul = config.cluster.consul;
  if (config.cluster.nomadAddr && consul) return new ConsulDiscovery({ client: consulClientFrom(consul), logger: deps.logger, closeClient: true });
  return new SchedulerDiscovery(deps.scheduler);
}

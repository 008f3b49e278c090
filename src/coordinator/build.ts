import { consulClientFrom } from '../clients/consul/from-settings.js';
import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../shared/logger.js';
import { ConsulCoordinator } from './consul/consul-coordinator.js';
import type { Coordinator } from './coordinator.js';
import { SingleNodeCoordinator } from './single-node/single-node-coordinator.js';

/**
 * The Coordinator the configuration selects: a Consul election on `<kv prefix>leader` when
 * CONSUL_HTTP_ADDR is set, else the single node. `advertiseUrl` is where followers forward to this
 * replica (its GANTRY_PUBLIC_URL).
 */
export function buildCoordinator(config: ServerConfig, deps: { advertiseUrl: string; logger: Logger }): Coordinator {
  const consul = config.cluster.consul;
  if (!consul) return new SingleNodeCoordinator(deps.advertiseUrl);
  return new ConsulCoordinator({
    client: consulClientFrom(consul),
    closeClient: true,
    key: `${consul.kvPrefix}leader`,
    // The state store keeps its keys under the same prefix, so it names the lock key `leader`.
    fenceKey: 'leader',
    advertiseUrl: deps.advertiseUrl,
    logger: deps.logger,
    ttlSeconds: consul.leaderTtlSeconds,
    lockDelaySeconds: consul.leaderLockDelaySeconds,
  });
}

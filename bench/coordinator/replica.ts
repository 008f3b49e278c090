import { ConsulClient } from '../../src/clients/consul/index.js';
import { ConsulCoordinator } from '../../src/coordinator/consul/consul-coordinator.js';
import { createLogger } from '../../src/shared/logger.js';

/** One replica of the failover bench: campaigns and prints `leader <url> <epoch> <ms since epoch>`. */
const [address, url, ttl, lockDelay] = process.argv.slice(2);
const coordinator = new ConsulCoordinator({
  client: new ConsulClient({ address: address! }),
  key: 'gantry-bench/leader',
  advertiseUrl: url!,
  logger: createLogger({ level: 'silent' }),
  ttlSeconds: Number(ttl),
  lockDelaySeconds: Number(lockDelay),
  watchWaitSeconds: 5,
});
coordinator.on('leader:acquired', ({ epoch }) => console.log(`leader ${url} ${epoch} ${Date.now()}`));
coordinator.on('leader:lost', () => console.log(`lost ${url} 0 ${Date.now()}`));
await coordinator.start();

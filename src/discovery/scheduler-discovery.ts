import type { Scheduler } from '../scheduler/scheduler.js';
import type { DeploymentRef, Endpoint, ReplicaDiscovery } from './discovery.js';

/** Healthy replicas as the Scheduler sees them: running, ready (health check passed) and reachable. */
export class SchedulerDiscovery implements ReplicaDiscovery {
  constructor(private readonly scheduler: Pick<Scheduler, 'replicas'>) {}

  async healthy(deployment: DeploymentRef): Promise<Endpoint[]> {
    const replicas = await this.scheduler.replicas(deployment.id);
    return replicas.flatMap((r) =>
      r.state === 'Running' && r.readySince !== undefined && r.address ? [{ replicaId: r.replicaId, address: r.address }] : [],
    );
  }

  async close(): Promise<void> {}
}

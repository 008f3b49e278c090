import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Cluster } from './cluster.js';
import { blockingRead, namespaceOf, NomadHttpError } from './http.js';
import { DEFAULT_DRIVERS } from './placement.js';
import { stubOf } from './routes-jobs.js';

const id = (request: FastifyRequest) => (request.params as { id: string }).id;

function found<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new NomadHttpError(404, `${what} not found`);
  return value;
}

/** Allocations, evaluations, deployments, the agent and its nodes. */
export async function allocRoutes(app: FastifyInstance, { cluster, maxKillTimeout }: { cluster: Cluster; maxKillTimeout: string }): Promise<void> {
  app.get('/v1/allocations', async (request, reply) =>
    blockingRead(cluster, 'allocs', request, reply, () => {
      const ns = namespaceOf(request);
      return [...cluster.allocs.values()].filter((a) => ns === '*' || a.Namespace === ns).map(stubOf);
    }));
  app.get('/v1/allocation/:id', async (request, reply) =>
    blockingRead(cluster, 'allocs', request, reply, () => found(cluster.allocs.get(id(request)), 'alloc')));
  app.get('/v1/evaluation/:id', async (request, reply) =>
    blockingRead(cluster, 'evals', request, reply, () => found(cluster.evals.get(id(request)), 'eval')));
  app.get('/v1/deployment/:id', async (request, reply) =>
    blockingRead(cluster, 'deployment', request, reply, () => found(cluster.deployments.get(id(request)), 'deployment')));
  app.get('/v1/agent/self', async () => ({
    config: { Client: { Enabled: true, MaxKillTimeout: maxKillTimeout }, Server: { Enabled: true }, Region: 'global', Datacenter: 'dc1' },
    member: { Name: 'double', Status: 'alive' },
  }));
  app.get('/v1/nodes', async () =>
    cluster.nodes.map((n) => ({
      ID: n.id, Name: n.name, Address: n.address, Status: 'ready', Datacenter: 'dc1',
      Drivers: Object.fromEntries((n.drivers ?? DEFAULT_DRIVERS).map((d) => [d, { Detected: true, Healthy: true, HealthDescription: 'Healthy', Attributes: null }])),
    })));
  app.get('/v1/node/:id', async (request) => {
    const node = found(cluster.nodes.find((n) => n.id === id(request)), 'node');
    const devices = node.devices.map((d) => ({
      Vendor: 'nvidia', Type: 'gpu', Name: d.name,
      Instances: Array.from({ length: d.count }, (_, i) => ({ ID: `GPU-${node.id}-${i}`, Healthy: true })),
      Attributes: { memory: { Int: d.memoryMiB, Unit: 'MiB' } },
    }));
    return { ID: node.id, Name: node.name, Status: 'ready', NodeResources: { Devices: devices } };
  });
}

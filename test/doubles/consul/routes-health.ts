import type { FastifyInstance } from 'fastify';
import { blocking, has, queryOf } from './blocking.js';
import { ConsulHttpError } from './routes-kv.js';
import { jsonBody } from './routes-session.js';
import type { CheckStatus, ServiceState } from './services.js';
import type { ConsulDoubleState } from './state.js';

/**
 * Agent service registration, check updates, `/v1/health/service/:name[?passing]` and the catalog
 * (hashicorp.md §3.6). The double is one node (`state.node`, 127.0.0.1, dc1) whose `serfHealth` passes.
 */
export function registerHealthRoutes(app: FastifyInstance, state: ConsulDoubleState): void {
  app.put('/v1/agent/service/register', async (req) => {
    try {
      state.registerService(jsonBody(req));
    } catch (err) {
      throw new ConsulHttpError(400, (err as Error).message);
    }
    return '';
  });
  app.put<{ Params: { id: string } }>('/v1/agent/service/deregister/:id', async (req) => {
    if (!state.deregisterService(req.params.id)) throw new ConsulHttpError(404, `Unknown service ID "${req.params.id}". Ensure that the service ID is passed, not the service name.`);
    return '';
  });
  app.put<{ Params: { id: string } }>('/v1/agent/check/update/:id', async (req) => {
    const body = jsonBody(req);
    setCheck(state, req.params.id, body.Status as CheckStatus, String(body.Output ?? ''));
    return '';
  });
  for (const [verb, status] of [['pass', 'passing'], ['warn', 'warning'], ['fail', 'critical']] as const) {
    app.put<{ Params: { id: string } }>(`/v1/agent/check/${verb}/:id`, async (req) => {
      setCheck(state, req.params.id, status, String(queryOf(req).note ?? ''));
      return '';
    });
  }
  app.get<{ Params: { name: string } }>('/v1/health/service/:name', async (req, reply) => {
    const passingOnly = has(queryOf(req), 'passing');
    return blocking(state, req, reply, () => {
      const index = state.services.maxIndex;
      const entries = state.services.named(req.params.name).filter((s) => !passingOnly || s.checks.every((c) => c.Status === 'passing'));
      return { index, watch: index, result: entries.map((s) => healthEntry(state, s)) };
    });
  });
  app.get<{ Params: { name: string } }>('/v1/catalog/service/:name', async (req, reply) =>
    blocking(state, req, reply, () => {
      const index = state.services.maxIndex;
      return { index, watch: index, result: state.services.named(req.params.name).map((s) => catalogEntry(state, s)) };
    }),
  );
  app.get('/v1/catalog/services', async (req, reply) =>
    blocking(state, req, reply, () => {
      const index = state.services.maxIndex;
      const result: Record<string, string[]> = {};
      for (const s of state.services.byId.values()) result[s.Service] = [...new Set([...(result[s.Service] ?? []), ...s.Tags])];
      return { index, watch: index, result };
    }),
  );
}

/** Sets a check's status (re-arming a TTL check); a check going critical invalidates the sessions tied to it. */
export function setCheck(state: ConsulDoubleState, checkId: string, status: CheckStatus, output = ''): void {
  if (!['passing', 'warning', 'critical'].includes(status)) throw new ConsulHttpError(400, `Invalid check status: "${String(status)}"`);
  if (!state.setCheck(checkId, status, output)) throw new ConsulHttpError(404, `Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`);
}

function nodeJson(state: ConsulDoubleState) {
  return { ID: '00000000-0000-0000-0000-000000000001', Node: state.node, Address: '127.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} };
}

function serviceJson(s: ServiceState) {
  return { ID: s.ID, Service: s.Service, Tags: s.Tags, Address: s.Address, Port: s.Port, Meta: s.Meta, Weights: { Passing: 1, Warning: 1 }, CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex };
}

function healthEntry(state: ConsulDoubleState, s: ServiceState) {
  const serf = { Node: state.node, CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', Output: 'Agent alive and reachable', ServiceID: '', ServiceName: '' };
  return { Node: nodeJson(state), Service: serviceJson(s), Checks: [serf, ...s.checks.map((c) => ({ Node: state.node, ...c }))] };
}

function catalogEntry(state: ConsulDoubleState, s: ServiceState) {
  const node = nodeJson(state);
  return {
    ID: node.ID,
    Node: node.Node,
    Address: node.Address,
    Datacenter: node.Datacenter,
    ServiceID: s.ID,
    ServiceName: s.Service,
    ServiceTags: s.Tags,
    ServiceAddress: s.Address,
    ServicePort: s.Port,
    ServiceMeta: s.Meta,
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  };
}

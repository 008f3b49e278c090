import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.js';
import type { DeploymentService } from '../../deployments/deployment-service.js';
import type { JobQueue } from '../../queue/queue.js';
import type { Claimant, JsonObject } from '../../queue/types.js';
import { parseGoDuration } from '../../shared/duration.js';
import { appError } from '../../shared/errors.js';
import { assertDeploymentAccess } from '../plugins/auth.js';
import { RetrieveQuery, StatusBody } from '../schemas/queue.js';
import { parseInput } from '../schemas/validate.js';
import { depthOf, MAX_JSON_DEPTH, WORKER_ENVELOPE_DEPTH } from '../json-depth.js';
import { assertSize, assertWorkerDepth, deploymentOf, MAX_INFO_BYTES } from '../v1/queue.js';

export interface WorkerRoutesOptions {
  queue: JobQueue;
  deployments: DeploymentService;
}

/** Longest long poll (compat.md §8.23) and the default when the worker sends no timeout. */
const MAX_WAIT_MS = 60_000;
const DEFAULT_WAIT_MS = 5_000;

/**
 * The worker protocol exactly as the unmodified Sprocket worker speaks it (compat.md §3.5): a long-poll
 * retrieve that always answers a JSON object (`{"data": null}` when no job came), and status updates
 * answered exactly 200 when accepted. Worker tokens reach only their own deployment.
 */
export async function workerRoutes(app: FastifyInstance, { queue, deployments }: WorkerRoutesOptions): Promise<void> {
  app.get('/internal/v1/queue/retrieve', { config: { auth: 'worker' } }, async (request) => {
    const query = parseInput(RetrieveQuery, request.query, 'query');
    const deployment = await deploymentOf(deployments, query.model);
    assertDeploymentAccess(request.principal, deployment.id);
    const gone = new AbortController();
    request.raw.once('close', () => gone.abort());
    const claimant = claimantOf(request.principal!, query.hostname);
    const claimed = await queue.retrieve({
      deploymentId: deployment.id,
      claimant,
      waitMs: waitOf(query.timeout),
      claimTimeoutSeconds: query.claim_timeout,
      defaultLeaseSeconds: deployment.termination_grace_period_seconds || 300,
      idleSeconds: idleOf(request),
      signal: gone.signal,
    });
    if (!claimed) return { data: null };
    if (request.raw.destroyed) {
      await queue.release(deployment.id, claimed.record.request_id, claimant);
      return { data: null };
    }
    const { record, payload } = claimed;
    if (await failedTooDeep(queue, deployment.id, claimed, claimant)) return { data: null };
    return { data: { request_id: record.request_id, model: query.model, payload, info: record.info, priority: record.priority, retries: record.retries } };
  });

  app.post('/internal/v1/videos/status', { config: { auth: 'worker' } }, async (request, reply) => {
    const body = parseInput(StatusBody, request.body);
    if (body.info) assertSize(body.info, MAX_INFO_BYTES, 'info', 'GANTRY_ERR_JOB_INFO_TOO_LARGE');
    assertWorkerDepth(body.info, 'info');
    const deployment = await deploymentOf(deployments, body.model);
    assertDeploymentAccess(request.principal, deployment.id);
    await queue.update({
      deploymentId: deployment.id,
      requestId: body.request_id,
      claimant: claimantOf(request.principal!, undefined),
      status: body.status,
      payload: (body.payload ?? undefined) as JsonObject | undefined,
      info: (body.info ?? undefined) as JsonObject | undefined,
    });
    return reply.code(200).send({ status: 'ok' });
  });
}

/**
 * A job stored before JSON nesting was limited may hold a payload or info deeper than workers may be sent
 * (an SDK's recursive parser would stop its loop on it): it fails here with the reason instead of reaching
 * the worker, which polls again.
 */
async function failedTooDeep(queue: JobQueue, deploymentId: string, claimed: Claimed, claimant: Claimant): Promise<boolean> {
  const limit = MAX_JSON_DEPTH - WORKER_ENVELOPE_DEPTH;
  const field = depthOf(claimed.payload) > limit ? 'payload' : depthOf(claimed.record.info) > limit ? 'info' : undefined;
  if (!field) return false;
  const error = `the job's ${field} nests deeper than ${limit} levels, more than workers may be sent`;
  await queue.update({ deploymentId, requestId: claimed.record.request_id, claimant, status: 'failed', payload: undefined, info: { error } });
  return true;
}

type Claimed = NonNullable<Awaited<ReturnType<JobQueue['retrieve']>>>;

/**
 * Who holds a claim. A worker token issued to one replica is that replica (§8.2); any other key is
 * the key plus the hostname the worker reports, so two workers sharing a user key stay apart. A
 * deployment-scoped worker token (Nomad: allocations are created by Nomad, so they share one) names its
 * replica by the hostname, which is the allocation id: the claim is bound to that allocation.
 */
function claimantOf(principal: Principal, hostname: string | undefined): Claimant {
  if (principal.kind === 'worker' && principal.replicaId) {
    return { key: `replica:${principal.replicaId}`, replicaId: principal.replicaId, ...(hostname ? { hostname } : {}) };
  }
  if (principal.kind === 'worker' && hostname) {
    return { key: `key:${principal.keyId}@${hostname}`, replicaId: hostname, hostname };
  }
  return { key: `key:${principal.keyId}@${hostname ?? '-'}`, ...(hostname ? { hostname } : {}) };
}

function waitOf(timeout: string | undefined): number {
  if (timeout === undefined) return DEFAULT_WAIT_MS;
  const ms = parseGoDuration(timeout);
  if (ms === undefined) {
    throw appError('GANTRY_ERR_REQUEST_INVALID', `timeout: "${timeout}" is not a duration such as 5s, 500ms or 1m`, { param: 'timeout' });
  }
  return Math.min(ms, MAX_WAIT_MS);
}

function idleOf(request: FastifyRequest): number | undefined {
  const header = request.headers['x-idle-time'];
  const n = typeof header === 'string' ? Number(header) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { DeploymentService } from '../../deployments/deployment-service.js';
import type { DeploymentRecord } from '../../deployments/types.js';
import type { JobQueue } from '../../queue/queue.js';
import type { JsonObject } from '../../queue/types.js';
import { appError } from '../../shared/errors.js';
import { depthOf, MAX_JSON_DEPTH, WORKER_ENVELOPE_DEPTH } from '../json-depth.js';
import { CancelBody, JobQuery, ModelBody, ModelQuery, SubmitBody } from '../schemas/queue.js';
import { parseInput } from '../schemas/validate.js';

export interface QueueRoutesOptions {
  queue: JobQueue;
  deployments: DeploymentService;
  maxPayloadBytes: number;
  /** Scale from zero: an immediate autoscaler evaluation of a deployment at zero replicas (§8.16). */
  wake: (deploymentId: string) => Promise<void>;
}

/** Largest `info` JSON, at submit and from workers (compat.md §8.3). */
export const MAX_INFO_BYTES = 4096;

/**
 * The Queue API (compat.md §4, §8.1–8.5), user keys only, and its legacy `/v1/videos/*` aliases. `model`
 * is the deployment's name (or a name it had before a rename); the queue is bound to its id.
 */
export async function queueRoutes(app: FastifyInstance, options: QueueRoutesOptions): Promise<void> {
  const submit = submitHandler(options);
  app.post('/v1/queue/submit', submit);
  app.post('/v1/videos/generations', submit);
  const status = statusHandler(options);
  app.get('/v1/queue/status', status);
  app.get('/v1/videos/status', status);
  const cancel = cancelHandler(options);
  app.post('/v1/queue/cancel', cancel);
  app.post('/v1/videos/cancel', cancel);
  app.post('/v1/queue/clear', async (request) => {
    const { model } = parseInput(ModelBody, request.body);
    const { id } = await deploymentOf(options.deployments, model);
    return { canceled_count: await options.queue.clear(id) };
  });
  app.get('/v1/queue/metrics', async (request) => {
    const { model } = parseInput(ModelQuery, request.query, 'query');
    return options.queue.metrics((await deploymentOf(options.deployments, model)).id);
  });
}

function submitHandler({ queue, deployments, maxPayloadBytes, wake }: QueueRoutesOptions) {
  return async (request: { body: unknown }) => {
    const body = parseInput(SubmitBody, request.body);
    assertSize(body.payload, maxPayloadBytes, 'payload', 'GANTRY_ERR_JOB_PAYLOAD_TOO_LARGE');
    assertSize(body.info ?? {}, MAX_INFO_BYTES, 'info', 'GANTRY_ERR_JOB_INFO_TOO_LARGE');
    assertWorkerDepth(body.payload, 'payload');
    assertWorkerDepth(body.info, 'info');
    const deployment = await deploymentOf(deployments, body.model);
    const record = await queue.submit({
      deploymentId: deployment.id,
      model: body.model,
      payload: body.payload as JsonObject,
      info: (body.info ?? {}) as JsonObject,
      priority: body.priority ?? 0,
      maxRetries: body.max_retries ?? 3,
    });
    if (deployment.desired_replicas === 0) await wake(deployment.id);
    return { requestId: record.request_id, request_id: record.request_id, status: 'pending' };
  };
}

function statusHandler({ queue, deployments }: QueueRoutesOptions) {
  return async (request: { query: unknown }) => {
    const query = parseInput(JobQuery, request.query, 'query');
    const { id } = await deploymentOf(deployments, query.model);
    const view = await queue.view(id, query.request_id);
    if (!view) throw appError('GANTRY_ERR_JOB_NOT_FOUND', `no job ${query.request_id} for model "${query.model}"`, { param: 'request_id' });
    return view;
  };
}

/** 200 `{"status":"canceled"}`, or 409 `{"status": <current>}` as the schema says (compat.md §8.4). */
function cancelHandler({ queue, deployments }: QueueRoutesOptions) {
  return async (request: { body: unknown }, reply: FastifyReply) => {
    const body = parseInput(CancelBody, request.body);
    const { id } = await deploymentOf(deployments, body.model);
    const outcome = await queue.cancel(id, body.request_id, { running: body.x_gantry_running === true });
    if (outcome.canceled) return { status: 'canceled' };
    return reply.code(409).send({ status: outcome.status });
  };
}

export async function deploymentOf(deployments: DeploymentService, model: string): Promise<DeploymentRecord> {
  try {
    return await deployments.record(model);
  } catch (err) {
    throw appError('GANTRY_ERR_DEPLOYMENT_NOT_FOUND', `no deployment named "${model}"`, { param: 'model', cause: err });
  }
}

export function assertSize(
  value: unknown,
  limit: number,
  field: string,
  code: 'GANTRY_ERR_JOB_PAYLOAD_TOO_LARGE' | 'GANTRY_ERR_JOB_INFO_TOO_LARGE',
): void {
  const size = Buffer.byteLength(JSON.stringify(value));
  if (size > limit) throw appError(code, `${field}: ${size} bytes of JSON, over the limit of ${limit}`, { param: field });
}

/**
 * A job's `payload` and `info` reach workers wrapped two levels deep (`{"data": {"payload": …}}`), and
 * what workers are sent must stay within MAX_JSON_DEPTH: these fields may nest two levels less.
 */
export function assertWorkerDepth(value: unknown, field: string): void {
  const limit = MAX_JSON_DEPTH - WORKER_ENVELOPE_DEPTH;
  if (value == null || depthOf(value) <= limit) return;
  throw appError(
    'GANTRY_ERR_REQUEST_TOO_DEEP',
    `${field}: JSON nests deeper than ${limit} levels, the limit for what workers are sent (${MAX_JSON_DEPTH} levels with the envelope)`,
    { param: field },
  );
}

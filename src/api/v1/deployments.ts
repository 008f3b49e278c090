import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DeploymentService } from '../../deployments/deployment-service.js';
import { sourceCallerOf } from '../../deployments/source-access.js';
import { CreateDeploymentBody, LogsQuery, UpdateDeploymentBody } from '../schemas/deployments.js';
import { parseInput } from '../schemas/validate.js';

export interface DeploymentsRoutesOptions {
  deployments: DeploymentService;
}

type ById = { Params: { id: string } };

/** The Deployments API (compat.md §5.1), user keys only. `{id}` is an id or a name. */
export async function deploymentsRoutes(app: FastifyInstance, { deployments }: DeploymentsRoutesOptions): Promise<void> {
  app.get('/v1/deployments', async () => ({ object: 'list', data: await deployments.list() }));
  app.post('/v1/deployments', async (request) =>
    deployments.create(parseInput(CreateDeploymentBody, request.body), sourceCallerOf(request.principal)),
  );
  app.get<ById>('/v1/deployments/:id', async (request) => deployments.get(request.params.id));
  app.patch<ById>('/v1/deployments/:id', async (request) =>
    deployments.update(request.params.id, parseInput(UpdateDeploymentBody, request.body ?? {}), sourceCallerOf(request.principal)),
  );
  app.delete<ById>('/v1/deployments/:id', async (request) => {
    await deployments.remove(request.params.id);
    return {};
  });
  app.get<ById>('/v1/deployments/:id/logs', (request, reply) => serveLogs(deployments, request, reply));
}

/**
 * A plain GET answers one `{"lines": [...]}` object (also one valid NDJSON line); `?follow=true` keeps the
 * response open and streams one such object per batch until the client goes away (compat.md §8.26).
 */
async function serveLogs(deployments: DeploymentService, request: FastifyRequest<ById>, reply: FastifyReply): Promise<unknown> {
  const query = parseInput(LogsQuery, request.query, 'query');
  const gone = new AbortController();
  request.raw.once('close', () => gone.abort());
  const batches = await deployments.logs(request.params.id, { ...query, signal: gone.signal });
  if (!query.follow) {
    const lines: string[] = [];
    for await (const batch of batches) lines.push(...batch);
    return { lines };
  }
  reply.type('application/x-ndjson; charset=utf-8').header('cache-control', 'no-store');
  return reply.send(Readable.from(ndjson(batches)));
}

async function* ndjson(batches: AsyncIterable<string[]>): AsyncGenerator<string> {
  for await (const lines of batches) yield JSON.stringify({ lines }) + '\n';
}

import type { FastifyInstance } from 'fastify';
import type { VolumePatch } from '../../volumes/volume.js';
import type { VolumeService } from '../../volumes/volume-service.js';
import { parseInput } from '../schemas/validate.js';
import { createVolumeBody, patchVolumeBody, volumeQuery } from '../schemas/volumes.js';

export interface VolumesRoutesOptions {
  volumes: VolumeService;
}

/**
 * These routes are static or parametric, so they win over storage's `GET /v1/deployments/storage/*`
 * wildcard whatever the registration order; a deeper `volumes/...` path falls to that wildcard, which
 * answers 404 for it. Names and ids hold no "/", so `:id` is one segment.
 */
const COLLECTION = '/v1/deployments/storage/volumes';
const ONE = `${COLLECTION}/:id`;
type ById = { Params: { id: string } };

/**
 * The Volumes API (compat.md §5.3), user keys only (the default auth mode). `:id` is an id or a name.
 * Creating answers 200, as the vendor API does.
 */
export async function volumesRoutes(app: FastifyInstance, { volumes }: VolumesRoutesOptions): Promise<void> {
  app.get(COLLECTION, async () => ({ object: 'list', data: await volumes.list() }));

  app.post(COLLECTION, async (request) => {
    const { name, content } = parseInput(createVolumeBody, request.body);
    const volume = await volumes.create({ name, content });
    request.log.info({ volumeId: volume.id, sourcePrefix: content.source_prefix }, 'volume created');
    return volume;
  });

  app.get<ById>(ONE, async (request) => {
    const { version } = parseInput(volumeQuery, request.query, 'query');
    return volumes.get(request.params.id, version);
  });

  app.patch<ById>(ONE, async (request) => {
    const body = parseInput(patchVolumeBody, request.body);
    // `type` was checked to be "readOnly", the only type, so it changes nothing and is not passed on.
    const patch: VolumePatch = { name: body.name ?? undefined, content: body.content ?? undefined };
    const volume = await volumes.update(request.params.id, patch);
    request.log.info({ volumeId: volume.id, version: volume.current_version }, 'volume updated');
    return volume;
  });

  app.delete<ById>(ONE, async (request) => {
    await volumes.delete(request.params.id);
    request.log.info({ volumeRef: request.params.id }, 'volume deleted');
    return {};
  });
}

import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { PythonSdkWheel, WheelFile } from '../../sdk-index/python-wheel.js';
import { normalizeProjectName, projectPage, PROJECT, rootPage } from '../../sdk-index/simple-index.js';
import { appError } from '../../shared/errors.js';

export interface SdkPythonRoutesOptions {
  wheel: PythonSdkWheel;
}

const HTML = 'text/html; charset=utf-8';
const BASE = '/v1/sdk/python';

/**
 * Gantry's `sprocket` as a PEP 503 simple index (compat.md §8.30): `pip install --index-url
 * <gantry>/v1/sdk/python/ sprocket`. Public, like `/health`: pip and image builds cannot easily send an
 * API key, and the wheel holds nothing secret (it is the SDK in this repository).
 */
export async function sdkPythonRoutes(app: FastifyInstance, { wheel }: SdkPythonRoutesOptions): Promise<void> {
  const open = { config: { auth: 'public' as const } };
  app.get(BASE, open, async (_request, reply) => reply.redirect(`${BASE}/`, 301));
  app.get(`${BASE}/`, open, async (_request, reply) => reply.type(HTML).send(rootPage()));
  app.get<{ Params: { project: string } }>(`${BASE}/:project`, open, async (request, reply) => {
    assertProject(request.params.project);
    return reply.redirect(`${BASE}/${PROJECT}/`, 301);
  });
  app.get<{ Params: { project: string } }>(`${BASE}/:project/`, open, async (request, reply) => {
    assertProject(request.params.project);
    return reply.type(HTML).send(projectPage(await built(wheel)));
  });
  app.get<{ Params: { project: string; file: string } }>(`${BASE}/:project/:file`, open, async (request, reply) => {
    assertProject(request.params.project);
    const file = await built(wheel);
    if (request.params.file !== file.filename) {
      throw appError('GANTRY_ERR_ROUTE_NOT_FOUND', `no file "${request.params.file}" in the index; it holds ${file.filename}`, { param: 'file' });
    }
    return reply.type('application/octet-stream').header('content-disposition', `attachment; filename="${file.filename}"`).send(createReadStream(file.path));
  });
}

function assertProject(project: string): void {
  if (normalizeProjectName(project) !== PROJECT) {
    throw appError('GANTRY_ERR_ROUTE_NOT_FOUND', `the index holds only "${PROJECT}", not "${project}"`, { param: 'project' });
  }
}

async function built(wheel: PythonSdkWheel): Promise<WheelFile> {
  try {
    return await wheel.get();
  } catch (err) {
    throw appError('GANTRY_ERR_UNAVAILABLE', `Gantry's sprocket wheel could not be built: ${(err as Error).message}`, { cause: err });
  }
}

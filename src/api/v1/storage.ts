import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.js';
import type { BlobInfo } from '../../blobs/blob-store.js';
import type { ServerConfig } from '../../config/schema.js';
import { appError } from '../../shared/errors.js';
import { hasSignature, type QueryInput } from '../../storage/signing.js';
import type { StorageService } from '../../storage/storage-service.js';
import { createBaseUrlOf } from '../../storage/base-url.js';
import { parseInput } from '../schemas/validate.js';
import {
  checkedFilename,
  multipartAbortBody,
  multipartCompleteBody,
  multipartInitBody,
  uploadRequestBody,
} from '../schemas/storage.js';
import { signedUploadRoutes } from './storage-uploads.js';

export interface StorageRoutesOptions {
  storage: StorageService;
  config: ServerConfig;
  /** The URL the server listens at, once it does (PublicUrl.get). */
  listenUrl: () => string;
  /** The serving certificate (PEM), whose names a request's Host may use. */
  certificate?: string | undefined;
}

/** A complete call lists up to 10,000 parts, more than the JSON API's usual body limit may allow. */
const COMPLETE_BODY_LIMIT = 4 * 1024 * 1024;

/**
 * Storage (compat.md §1.8, §5.4, §8.11, §8.27):
 *
 *   POST /v1/storage/upload-request          key (user or worker)  → a signed PUT URL
 *   PUT  /v1/storage/<filename>?X-Gantry-…   signature              → stores the body (storage-uploads.ts)
 *   POST /v1/storage/multipart/{init,complete,abort}  key; parts go to PUT /v1/storage/multipart/<id>/<n>
 *   GET  /v1/storage/<filename>              signature, or key; with a key, ?signed=1 → 307 to a signed URL
 *   GET  /v1/deployments/storage/<filename>  user key → 307 to a signed URL
 */
export async function storageRoutes(app: FastifyInstance, options: StorageRoutesOptions): Promise<void> {
  const { storage, config } = options;
  // Generated URLs use the public URL, else the request's Host only when it is one of the server's names.
  const settings = { configured: config.publicUrl, listenUrl: options.listenUrl, listenHost: config.host, certificate: options.certificate };
  const baseFor = createBaseUrlOf(settings);
  const baseUrlOf = (request: FastifyRequest): string => baseFor(request.headers.host);
  registerUploadRequests(app, storage, baseUrlOf);
  registerReads(app, storage, baseUrlOf);
  await app.register(signedUploadRoutes, { storage, maxUploadBytes: config.maxUploadBytes });
}

type BaseUrlOf = (request: FastifyRequest) => string;

/** The keyed JSON calls that hand out upload URLs and drive multipart uploads. */
function registerUploadRequests(app: FastifyInstance, storage: StorageService, baseUrlOf: BaseUrlOf): void {
  app.post('/v1/storage/upload-request', { config: { auth: 'worker' } }, async (request) => {
    const { filename } = parseInput(uploadRequestBody, request.body);
    const name = checkedFilename(filename, 'filename');
    return { upload_url: await storage.createUploadUrl(name, request.principal!, baseUrlOf(request)) };
  });

  app.post('/v1/storage/multipart/init', { config: { auth: 'worker' } }, async (request) => {
    const body = parseInput(multipartInitBody, request.body);
    const name = checkedFilename(body.filename, 'filename');
    return storage.initMultipart(name, body.parts_count, request.principal!, baseUrlOf(request));
  });

  app.post('/v1/storage/multipart/complete', { config: { auth: 'worker' }, bodyLimit: COMPLETE_BODY_LIMIT }, async (request) => {
    const body = parseInput(multipartCompleteBody, request.body);
    const name = checkedFilename(body.filename, 'filename');
    const file = await storage.completeMultipart(name, body.upload_id, body.parts, request.principal!);
    return { filename: name, size: file.info.size, etag: file.etag };
  });

  app.post('/v1/storage/multipart/abort', { config: { auth: 'worker' } }, async (request) => {
    const body = parseInput(multipartAbortBody, request.body);
    await storage.abortMultipart(checkedFilename(body.filename, 'filename'), body.upload_id, request.principal!);
    return { upload_id: body.upload_id, status: 'aborted' };
  });
}

function registerReads(app: FastifyInstance, storage: StorageService, baseUrlOf: BaseUrlOf): void {
  // HEAD is its own route: Fastify's automatic one would read the whole file only to throw it away.
  const readOptions = { config: { auth: 'optional' as const }, exposeHeadRoute: false };
  app.get('/v1/storage/*', readOptions, async (request, reply) => {
    const { filename, principal, volumeFile } = await readGrant(request, storage);
    if (principal && wantsSignedUrl(request)) {
      return reply.redirect(await storage.createDownloadUrl(filename, baseUrlOf(request), principal), 307);
    }
    const file = volumeFile ? await storage.openVolumeFile(volumeFile) : await storage.open(filename, principal);
    return fileHeaders(reply, file.info).send(file.stream);
  });
  app.head('/v1/storage/*', readOptions, async (request, reply) => {
    const { filename, principal, volumeFile } = await readGrant(request, storage);
    const info = volumeFile ? await storage.statVolumeFile(volumeFile) : await storage.stat(filename, principal);
    return fileHeaders(reply, info).send();
  });

  app.get('/v1/deployments/storage/*', { config: { auth: 'user' } }, async (request, reply) => {
    const filename = checkedFilename(deploymentStoragePath(request), 'path');
    return reply.redirect(await storage.createDownloadUrl(filename, baseUrlOf(request), request.principal), 307);
  });
}

/**
 * Who reads: a valid signature (then no one needs to be checked), or else the caller's key. A signature
 * that is present must be valid even when a key is sent too, so a broken URL never silently works.
 */
async function readGrant(request: FastifyRequest, storage: StorageService): Promise<{ filename: string; principal?: Principal; volumeFile?: string }> {
  const filename = checkedFilename(wildcardOf(request), 'path');
  const query = request.query as QueryInput;
  if (hasSignature(query)) return { filename, ...(await storage.verifySignedRead(filename, query)) };
  if (!request.principal) {
    throw appError(
      'GANTRY_ERR_AUTH_MISSING_KEY',
      'reading a file needs "Authorization: Bearer <key>" or a signed URL (ask with a key and ?signed=1)',
    );
  }
  return { filename, principal: request.principal };
}

function wantsSignedUrl(request: FastifyRequest): boolean {
  const { signed } = request.query as QueryInput;
  return signed === '1' || signed === 'true';
}

/**
 * The wildcard of `/v1/deployments/storage/*`. `volumes` and everything below it belong to the Volumes
 * API, whose routes are static and win over this wildcard; a volumes path no route serves is a 404 here
 * rather than a redirect into storage.
 */
function deploymentStoragePath(request: FastifyRequest): string {
  const path = wildcardOf(request);
  if (path === 'volumes' || path.startsWith('volumes/')) {
    throw appError('GANTRY_ERR_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
  }
  return path;
}

function wildcardOf(request: FastifyRequest): string {
  return (request.params as { '*': string })['*'];
}

function fileHeaders(reply: FastifyReply, info: BlobInfo): FastifyReply {
  return reply
    .header('content-type', contentTypeOf(info.name))
    .header('content-length', info.size)
    .header('last-modified', new Date(info.lastModified).toUTCString())
    .header('x-content-type-options', 'nosniff');
}

/**
 * Types for the outputs workers commonly produce. Nothing a browser would run (HTML, SVG, XML): files
 * are served from the API's origin, so those stay application/octet-stream.
 */
const CONTENT_TYPES: Record<string, string> = {
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  mp4: 'video/mp4',
  webm: 'video/webm',
  pdf: 'application/pdf',
};

function contentTypeOf(filename: string): string {
  const extension = /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase();
  return (extension && CONTENT_TYPES[extension]) || 'application/octet-stream';
}

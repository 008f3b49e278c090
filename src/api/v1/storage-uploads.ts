import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SIGNED_QUERY, type QueryInput } from '../../storage/signing.js';
import type { DigestedBlob, StorageService } from '../../storage/storage-service.js';
import { streamedBodyLimit } from '../plugins/request-limits.js';
import { parseInput } from '../schemas/validate.js';
import { checkedFilename, partParams } from '../schemas/storage.js';

export interface SignedUploadRoutesOptions {
  storage: StorageService;
  /** Largest single upload: a declared Content-Length above it is refused at once (request-limits plugin). */
  maxUploadBytes: number;
}

/**
 * The signed PUTs: a file through its upload URL, and a part through its part URL. The signature is the
 * credential (auth 'public'). Registered as their own plugin so that no content-type parser or body limit
 * of the JSON API applies: the raw body of any type (or none) is streamed straight into the store.
 */
export async function signedUploadRoutes(app: FastifyInstance, { storage, maxUploadBytes }: SignedUploadRoutesOptions): Promise<void> {
  app.addHook('onRoute', streamedBodyLimit(maxUploadBytes, 'GANTRY_ERR_STORAGE_FILE_TOO_LARGE'));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  app.addHook('onSend', async (request, reply) => {
    // Answered before the body was read (bad signature, too large): close rather than drain gigabytes.
    if (!request.raw.complete) reply.header('connection', 'close');
  });

  app.put('/v1/storage/*', { config: { auth: 'public' } }, async (request, reply) => {
    const filename = checkedFilename((request.params as { '*': string })['*'], 'path');
    return sendStored(reply, filename, await storage.acceptUpload(filename, queryOf(request), bodyOf(request)));
  });

  app.put('/v1/storage/multipart/:uploadId/:partNumber', { config: { auth: 'public' } }, async (request, reply) => {
    const query = queryOf(request);
    const raw = request.params as { uploadId: string; partNumber: string };
    // This static route shadows the wildcard for files named multipart/<a>/<b> (a volume called
    // "multipart"); only part URLs say purpose=part, so anything else is a file upload.
    if (query[SIGNED_QUERY.purpose] !== 'part') {
      const filename = checkedFilename(`multipart/${raw.uploadId}/${raw.partNumber}`, 'path');
      return sendStored(reply, filename, await storage.acceptUpload(filename, query, bodyOf(request)));
    }
    const { uploadId, partNumber } = parseInput(partParams, raw, 'path');
    return sendStored(reply, `${uploadId}/${partNumber}`, await storage.acceptPart(uploadId, partNumber, query, bodyOf(request)));
  });
}

/** S3-style: the ETag header is the quoted digest, which the vendor uploader records with quotes stripped. */
function sendStored(reply: FastifyReply, name: string, stored: DigestedBlob): FastifyReply {
  return reply
    .header('etag', `"${stored.etag}"`)
    .send({ name, size: stored.info.size, etag: stored.etag });
}

function queryOf(request: FastifyRequest): QueryInput {
  return request.query as QueryInput;
}

/** The parser hands over the raw stream; a request without a body has none at all. */
function bodyOf(request: FastifyRequest): Readable {
  const body = request.body as Readable | undefined;
  return body && typeof body.pipe === 'function' ? body : Readable.from([]);
}

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Accepts an empty body sent as `content-type: application/json` on a DELETE. The vendor's Python SDK
 * sends that header on every request, DELETEs included (`tg beta jig secrets delete`, `volumes delete`),
 * and Fastify's default parser answers such a request 400. Everything else still goes through Fastify's
 * own JSON parser (an empty POST body stays a 400; prototype-poisoning protection stays on).
 */
async function emptyJsonBody(app: FastifyInstance): Promise<void> {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text === '' && request.method === 'DELETE') return done(null, undefined);
    void parseJson(request, text, done);
  });
}

export const emptyJsonBodyPlugin = fp(emptyJsonBody, { name: 'empty-json-body' });

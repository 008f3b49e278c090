import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { appError } from '../../shared/errors.js';
import { dottedPath, findTooDeep, MAX_JSON_DEPTH } from '../json-depth.js';

/**
 * The JSON body parser of every route that takes JSON (the API and the worker protocol):
 * - the raw text is scanned for nesting deeper than MAX_JSON_DEPTH before it is parsed, so nothing
 *   recursive runs on it; deeper is a 400 naming the field where the limit was passed;
 * - an empty body sent as `content-type: application/json` is accepted on a DELETE: the vendor's Python
 *   SDK sends that header on every request, DELETEs included (`tg beta jig secrets delete`).
 * Everything else goes through Fastify's own JSON parser (an empty POST body stays a 400;
 * prototype-poisoning protection stays on).
 */
async function jsonBody(app: FastifyInstance): Promise<void> {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text === '' && request.method === 'DELETE') return done(null, undefined);
    const tooDeep = findTooDeep(text);
    if (tooDeep) return done(nestedTooDeep(tooDeep.path), undefined);
    void parseJson(request, text, done);
  });
}

function nestedTooDeep(path: Array<string | number>) {
  const field = dottedPath(path) || 'body';
  return appError(
    'GANTRY_ERR_REQUEST_TOO_DEEP',
    `${field}: JSON nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays, the limit`,
    { param: field },
  );
}

export const jsonBodyPlugin = fp(jsonBody, { name: 'json-body' });

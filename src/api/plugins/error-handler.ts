import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, isAppError, type ErrorCode } from '../../shared/errors.js';
import { redactUrl } from '../../shared/logger.js';

/**
 * The one error handler. Every error leaves as
 * `{"error": {"message", "type", "param", "code"}}`: the Queue API's QueueError fields nested under
 * `error`, which is also where the vendor CLI reads `error.message` (compat.md §1.1). Messages are echoed
 * except for a 500, which gets a fixed message and a log line with the request's method, url and
 * params; the other 5xx (502, 503) are expected outcomes whose message tells the caller what to do.
 */
export const errorHandlerPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
      const appErr = toAppError(err);
      if (appErr.status < 500) return send(reply, appErr);
      const context = { err, method: request.method, url: redactUrl(request.url), params: request.params };
      if (appErr.status === 500) {
        request.log.error(context, 'request failed');
        return send(reply, new AppError(appErr.code, 'internal error; see the server log'));
      }
      request.log.warn(context, 'request could not be served');
      return send(reply, appErr);
    });
    app.setNotFoundHandler((request, reply) =>
      send(reply, new AppError('GANTRY_ERR_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
    );
  },
  { name: 'gantry-error-handler' },
);

function send(reply: FastifyReply, err: AppError): FastifyReply {
  return reply
    .code(err.status)
    .type('application/json; charset=utf-8')
    .send({ error: { message: err.message, type: err.type, param: err.param, code: err.code } });
}

/** Fastify's own errors (body parsing, limits, schema) mapped onto the registry. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'GANTRY_ERR_REQUEST_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'GANTRY_ERR_REQUEST_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'GANTRY_ERR_REQUEST_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'GANTRY_ERR_REQUEST_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'GANTRY_ERR_REQUEST_MALFORMED_JSON',
};

function toAppError(err: FastifyError | AppError): AppError {
  if (isAppError(err)) return err;
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (mapped) return new AppError(mapped, describeFastifyError(err), { cause: err });
  if (err instanceof SyntaxError || err.statusCode === 400) {
    return new AppError('GANTRY_ERR_REQUEST_MALFORMED_JSON', `malformed request body: ${err.message}`);
  }
  if (err.statusCode === 413) return new AppError('GANTRY_ERR_REQUEST_TOO_LARGE', err.message);
  if (err.statusCode === 415) return new AppError('GANTRY_ERR_REQUEST_MEDIA_TYPE', err.message);
  return new AppError('GANTRY_ERR_INTERNAL', err.message, { cause: err });
}

function describeFastifyError(err: FastifyError): string {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'request body is too large';
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'request body is empty but content-type is JSON';
  return `malformed request body: ${err.message}`;
}


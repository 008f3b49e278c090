import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
      const appErr = toAppError(err, request);
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
  return reply.code(err.status).type('application/json; charset=utf-8').send(wireBody(err));
}

function wireBody(err: AppError) {
  return { error: { message: err.message, type: err.type, param: err.param, code: err.code } };
}

/**
 * Fastify's `frameworkErrors` option: refusals made by the router before any route runs (a URL that is not
 * valid percent-encoding, a path parameter over the length limit), in the error shape.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = redactUrl(request.raw.url ?? '').split('?')[0] ?? '';
  if (err.code === 'FST_ERR_BAD_URL') {
    void send(reply, new AppError('GANTRY_ERR_REQUEST_BAD_URL', `${path} is not valid percent-encoding`, { param: 'path' }));
  } else if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    const message = `a path segment of ${path.slice(0, 200)} is longer than the ${MAX_PARAM_LENGTH} characters allowed`;
    void send(reply, new AppError('GANTRY_ERR_REQUEST_URL_TOO_LONG', message, { param: 'path' }));
  } else {
    request.log.error({ err }, 'request failed before routing');
    void send(reply, new AppError('GANTRY_ERR_INTERNAL', 'internal error; see the server log'));
  }
}

/** The router's longest path parameter (Fastify's default), said in the refusal. */
export const MAX_PARAM_LENGTH = 100;

/** Node's `clientError` codes answered with a status; anything else is malformed HTTP. */
const CLIENT_ERRORS: Record<string, AppError> = {
  ERR_HTTP_REQUEST_TIMEOUT: new AppError('GANTRY_ERR_REQUEST_TIMEOUT', 'the request did not arrive in time; send headers and body without pausing'),
  HPE_HEADER_OVERFLOW: new AppError('GANTRY_ERR_REQUEST_HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts'),
};

/**
 * Fastify's `clientErrorHandler` option: a request Node refuses before Fastify sees it (malformed framing,
 * oversized headers, a request that did not arrive in time) is answered in the error shape on the raw
 * socket, then the connection is closed.
 */
export function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  this.log.debug({ err: { code: err.code, message: err.message } }, 'client error');
  const appErr =
    CLIENT_ERRORS[err.code ?? ''] ??
    new AppError('GANTRY_ERR_REQUEST_MALFORMED_HTTP', `not a valid HTTP/1.1 request (${err.code ?? err.message})`);
  const answering = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !answering?.headersSent) socket.end(rawResponse(appErr));
  socket.destroySoon();
}

/**
 * The HTTPS server's `tlsClientError` listener: plain HTTP sent to the HTTPS port gets a plain-HTTP 400 that
 * says to use https:// (written on the TCP socket under the TLS one), instead of a bare close. Every other
 * failed handshake is closed as Node does.
 */
export function plainHttpOnTlsPort(err: Error & { code?: string }, tlsSocket: Socket): void {
  const tcp = (tlsSocket as Socket & { _parent?: Socket })._parent;
  if (err.code !== 'ERR_SSL_HTTP_REQUEST' || !tcp?.writable) return void tlsSocket.destroy();
  const message = 'this port serves HTTPS: send the request to https:// instead of http://';
  tcp.end(rawResponse(new AppError('GANTRY_ERR_REQUEST_MALFORMED_HTTP', message)));
}

/** An error as a whole HTTP/1.1 response, for a socket no request object is attached to. */
function rawResponse(err: AppError): string {
  const body = JSON.stringify(wireBody(err));
  const head = [
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status]}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

/** Fastify's own errors (body parsing, limits, schema) mapped onto the registry. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'GANTRY_ERR_REQUEST_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'GANTRY_ERR_REQUEST_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'GANTRY_ERR_REQUEST_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'GANTRY_ERR_REQUEST_MALFORMED_JSON',
};

function toAppError(err: FastifyError | AppError, request: FastifyRequest): AppError {
  if (isAppError(err)) return err;
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return unsupportedMediaType(request);
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (mapped) return new AppError(mapped, describeFastifyError(err), { cause: err });
  if (err instanceof SyntaxError || (err.statusCode === 400 && err.code?.startsWith('FST_ERR_CTP'))) {
    return new AppError('GANTRY_ERR_REQUEST_MALFORMED_JSON', `malformed request body: ${err.message}`);
  }
  if (err.statusCode === 400) return new AppError('GANTRY_ERR_REQUEST_INVALID', err.message, { cause: err });
  if (err.statusCode === 413) return new AppError('GANTRY_ERR_REQUEST_TOO_LARGE', err.message);
  if (err.statusCode === 415) return new AppError('GANTRY_ERR_REQUEST_MEDIA_TYPE', err.message);
  return new AppError('GANTRY_ERR_INTERNAL', err.message, { cause: err });
}

function unsupportedMediaType(request: FastifyRequest): AppError {
  const type = String(request.headers['content-type'] ?? '').slice(0, 100);
  return new AppError('GANTRY_ERR_REQUEST_MEDIA_TYPE', `content-type: "${type}" is not accepted here; send application/json`, {
    param: 'content-type',
  });
}

function describeFastifyError(err: FastifyError): string {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'request body is too large';
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'request body is empty but content-type is JSON';
  return `malformed request body: ${err.message}`;
}


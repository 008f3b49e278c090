import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { appError, type ErrorCode } from '../../shared/errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The code of a 413 for a declared Content-Length over the route's body limit (default GANTRY_ERR_REQUEST_TOO_LARGE). */
    tooLargeCode?: ErrorCode;
  }
}

export interface RequestLimitsOptions {
  /** Longest pause while a request body arrives; the socket is cut with a 408 after it. */
  bodyIdleMs: number;
}

/**
 * Limits on what a client sends, applied before the body is read:
 * - a declared `Content-Length` over the route's body limit (`bodyLimit`, which streaming routes set to the
 *   largest upload) is a 413 at once, and the connection is closed rather than drained;
 * - while a body arrives, a pause longer than `bodyIdleMs` ends the request with a 408 (a client that sent
 *   headers and part of a body, then stopped, is not held). Receiving the answer is not limited here, so
 *   long polls and log `follow` streams stay open; Node's `requestTimeout` bounds a whole request.
 */
export const requestLimitsPlugin = fp<RequestLimitsOptions>(
  async (app: FastifyInstance, { bodyIdleMs }) => {
    app.addHook('onRequest', async (request, reply) => {
      assertDeclaredLength(request);
      if (hasBody(request)) watchBody(request, reply, bodyIdleMs);
    });
    app.addHook('onSend', async (request, reply) => {
      // Answered before the whole body arrived (refused, too large, timed out): close, do not drain it.
      if (request.raw.complete === false) reply.header('connection', 'close');
    });
  },
  { name: 'gantry-request-limits' },
);

function assertDeclaredLength(request: FastifyRequest): void {
  const header = request.headers['content-length'];
  if (header === undefined) return;
  const declared = Number(header);
  const limit = request.routeOptions.bodyLimit;
  if (!Number.isFinite(declared) || declared <= limit) return;
  throw appError(request.routeOptions.config.tooLargeCode ?? 'GANTRY_ERR_REQUEST_TOO_LARGE', `content-length: ${declared} bytes declared, over the limit of ${limit} bytes here`, {
    param: 'content-length',
  });
}

/**
 * An `onRoute` hook for plugins whose routes stream their body (no parser reads it, so Fastify's body limit
 * does not apply): their declared limit is `limit`, refused at once as `code` when a request declares more.
 */
export function streamedBodyLimit(limit: number, code: ErrorCode = 'GANTRY_ERR_REQUEST_TOO_LARGE') {
  return (route: RouteOptions): void => {
    route.bodyLimit ??= limit;
    route.config = { ...route.config, tooLargeCode: code };
  };
}

function hasBody(request: FastifyRequest): boolean {
  if (request.raw.complete) return false;
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Arms the socket's idle timer while the body arrives, and disarms it once the body is in (or the answer went). */
function watchBody(request: FastifyRequest, reply: FastifyReply, idleMs: number): void {
  const socket = request.raw.socket;
  if (typeof socket?.setTimeout !== 'function') return; // inject(): no socket
  const disarm = () => socket.setTimeout(0);
  socket.setTimeout(idleMs);
  request.raw.once('end', disarm);
  reply.raw.once('close', disarm);
  request.raw.once('timeout', () => {
    request.log.info({ idleMs }, 'request body stalled; closing the connection');
    if (reply.sent) return socket.destroy();
    reply.raw.once('finish', () => socket.destroy());
    void reply.send(
      appError('GANTRY_ERR_REQUEST_TIMEOUT', `the request body stopped arriving for ${Math.round(idleMs / 1000)} s; send it without pausing`),
    );
  });
}

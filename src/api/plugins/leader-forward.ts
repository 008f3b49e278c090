import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import replyFrom from '@fastify/reply-from';
import type { LeaderView } from '../../coordinator/leadership.js';
import { appError } from '../../shared/errors.js';
import { CallerBoundAgent, HOP_HEADER } from './caller-bound-agent.js';

export interface LeaderForwardOptions {
  leader: LeaderView;
}

/** Long polls last up to a minute and direct requests may take minutes: the hop must not cut them short. */
const UPSTREAM_TIMEOUT_MS = 15 * 60_000;

/** Marks a forwarded request, so a replica that does not lead either never forwards it again. */
export const FORWARDED_HEADER = 'x-gantry-forwarded';

/**
 * Leader-only routes (queue, worker protocol, direct HTTP to deployments) on a follower: every request
 * of the context this plugin is registered in is streamed to the leader's advertise URL as it came (body,
 * query, headers, the caller's key, which the leader checks) and the leader's answer is streamed back
 * with its status. On the leader the routes run. With no known leader, or for a request that was already
 * forwarded once (leadership is moving), the answer is 503 GANTRY_ERR_NOT_LEADER: retry shortly.
 *
 * Runs in `onRequest`, before the body is parsed, so the body is forwarded as a stream.
 */
export const leaderForwardPlugin = fp(
  async (app: FastifyInstance, { leader }: LeaderForwardOptions) => {
    const agent = new CallerBoundAgent({ headersTimeout: UPSTREAM_TIMEOUT_MS, bodyTimeout: UPSTREAM_TIMEOUT_MS });
    await app.register(replyFrom, { undici: agent, disableRequestLogging: true });
    // A stop ends forwarded requests (long polls) first: closing HTTP would wait for them to finish.
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
      await agent.destroy();
    });
    app.addHook('onRequest', async (request, reply) => {
      if (leader.leads()) return;
      const url = leader.leaderUrl();
      if (!url || request.headers[FORWARDED_HEADER] !== undefined) throw noLeader(url);
      return forward(request, reply, url, agent, () => closing);
    });
  },
  { name: 'gantry-leader-forward' },
);

function forward(request: FastifyRequest, reply: FastifyReply, leaderUrl: string, agent: CallerBoundAgent, closing: () => boolean): FastifyReply {
  // The unparsed request is the body: reply-from streams a stream body as it is (GET and HEAD have none).
  if (request.method !== 'GET' && request.method !== 'HEAD') (request as { body: unknown }).body = bodyOf(request);
  const hop = agent.bind(callerGone(reply, () => agent.forget(hop)));
  return reply.from(`${leaderUrl}${request.url}`, {
    rewriteRequestHeaders: (_req, headers) => ({ ...headers, [FORWARDED_HEADER]: '1', [HOP_HEADER]: hop }),
    onError: (r, { error }) => {
      if (r.raw.destroyed) return; // the caller left; the hop was aborted for that reason
      if (closing()) return r.send(appError('GANTRY_ERR_NOT_LEADER', 'this replica is shutting down; retry shortly (through any replica)', { cause: error }));
      r.send(appError('GANTRY_ERR_LEADER_UNREACHABLE', `the leader at ${leaderUrl} could not be reached; retry shortly`, { cause: error }));
    },
  });
}

/** A signal aborted when the caller goes away before its answer was sent in full; `done` runs at close. */
function callerGone(reply: FastifyReply, done: () => void): AbortSignal {
  const gone = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) gone.abort(new Error('the caller closed its connection'));
    done();
  });
  return gone.signal;
}

/**
 * The request body through a pass-through: when the hop fails, undici destroys the stream it sent, and
 * that must not be the caller's request (its socket would be reset instead of answered 502).
 */
function bodyOf(request: FastifyRequest): PassThrough {
  const body = new PassThrough();
  body.on('error', () => request.raw.unpipe(body));
  return request.raw.pipe(body);
}

function noLeader(url: string | undefined) {
  const why = url ? `the leader changed while this request was forwarded` : 'no leader is elected right now';
  return appError('GANTRY_ERR_NOT_LEADER', `this replica does not lead the queue and ${why}; retry shortly`);
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { blocking } from './blocking.js';
import { ConsulHttpError } from './routes-kv.js';
import { SessionError, type Session } from './sessions.js';
import type { ConsulDoubleState } from './state.js';

/**
 * `/v1/session/*` (hashicorp.md §3.2): create answers `{"ID"}`, renew an unknown session 404
 * `Session id '<id>' not found`, destroy is idempotent `true`, info `[]` when missing; reads block.
 */
export function registerSessionRoutes(app: FastifyInstance, state: ConsulDoubleState): void {
  app.put('/v1/session/create', async (req) => {
    try {
      return { ID: state.createSession(jsonBody(req)).ID };
    } catch (err) {
      if (err instanceof SessionError) throw new ConsulHttpError(500, err.message);
      throw err;
    }
  });
  app.put<{ Params: { id: string } }>('/v1/session/renew/:id', async (req) => {
    const session = state.renewSession(req.params.id);
    if (!session) throw new ConsulHttpError(404, `Session id '${req.params.id}' not found`);
    return [sessionJson(session)];
  });
  app.put<{ Params: { id: string } }>('/v1/session/destroy/:id', async (req) => {
    state.invalidateSession(req.params.id);
    return true;
  });
  app.get<{ Params: { id: string } }>('/v1/session/info/:id', async (req, reply) =>
    blocking(state, req, reply, () => sessionsOutcome(state, (s) => s.ID === req.params.id)),
  );
  app.get('/v1/session/list', async (req, reply) => blocking(state, req, reply, () => sessionsOutcome(state, () => true)));
  app.get<{ Params: { node: string } }>('/v1/session/node/:node', async (req, reply) =>
    blocking(state, req, reply, () => sessionsOutcome(state, (s) => s.Node === req.params.node)),
  );
}

function sessionsOutcome(state: ConsulDoubleState, pick: (s: Session) => boolean) {
  const index = state.sessionsIndex;
  return { index, watch: index, result: [...state.sessions.values()].filter(pick).map(sessionJson) };
}

function sessionJson(s: Session): Record<string, unknown> {
  return { ...s };
}

/** A JSON body, or `{}` when empty (Consul accepts an empty create body). */
export function jsonBody(req: FastifyRequest): Record<string, unknown> {
  const raw = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
  if (raw.length === 0) return {};
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConsulHttpError(400, `Request decode failed: ${(err as Error).message}`);
  }
  throw new ConsulHttpError(400, 'Request decode failed: expected a JSON object');
}

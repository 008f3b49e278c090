import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { BadRequest } from './blocking.js';
import { registerHealthRoutes, setCheck } from './routes-health.js';
import { ConsulHttpError, registerKvRoutes } from './routes-kv.js';
import { registerSessionRoutes } from './routes-session.js';
import { registerTxnRoutes } from './routes-txn.js';
import type { CheckStatus } from './services.js';
import { ConsulDoubleState } from './state.js';

/**
 * An HTTP double of Consul's agent API (KV, txn, sessions, agent services and checks, health, catalog),
 * a Fastify app on port 0 so the real client code runs against it. It follows the facts in hashicorp.md
 * §3 and Consul's source; `test/contracts/consul-api.contract.ts` runs the same cases against it and,
 * when `CONSUL_HTTP_ADDR` is set, against a real Consul.
 */

export interface ConsulDoubleOptions {
  /** When set, every request must carry this token (`X-Consul-Token`, `Authorization: Bearer`, `?token=`). */
  aclToken?: string;
  /** `txn` operation limit (default: 128, Consul ≥ 1.14). */
  maxTxnOps?: number;
  /** `kv_max_value_size` (default: 524288). */
  maxValueBytes?: number;
  /** `txn_max_req_len` (default: 524288). */
  maxTxnRequestBytes?: number;
  /** Smallest session TTL accepted, ms (default: 10 000, Consul's `session_ttl_min`). */
  minSessionTtlMs?: number;
  /** Node name the double reports (default: consul-double). */
  node?: string;
  /** The datacenter it serves; `?dc=` naming another answers 500 "No path to datacenter" (default: dc1). */
  datacenter?: string;
  /** Serve HTTPS with this PEM certificate chain and key. */
  https?: { cert: string; key: string };
}

export interface ConsulDouble {
  url: string;
  state: ConsulDoubleState;
  /** Moves a check (`service:<id>` for a service's single check); critical invalidates tied sessions. */
  setCheckStatus(checkId: string, status: CheckStatus): void;
  /** Invalidates a session as Consul does when its TTL lapses or its node is cut off. */
  invalidateSession(id: string): boolean;
  close(): Promise<void>;
}

const KIB = 1024;

export async function createConsulDouble(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  const state = new ConsulDoubleState(options.node ?? 'consul-double', { minTtlMs: options.minSessionTtlMs ?? 10_000, ttlMultiplier: 2 });
  const app = buildApp(state, options);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: address,
    state,
    setCheckStatus: (checkId, status) => setCheck(state, checkId, status),
    invalidateSession: (id) => state.invalidateSession(id),
    close: async () => {
      state.close();
      await app.close();
    },
  };
}

function buildApp(state: ConsulDoubleState, options: ConsulDoubleOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: 64 * KIB * KIB, forceCloseConnections: true, ...(options.https ? { https: options.https } : {}) });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', async (req) => void state.requests.push(`${req.method} ${req.url.split('?')[0]}`));
  const datacenter = options.datacenter ?? 'dc1';
  app.addHook('onRequest', async (req) => {
    const dc = (req.query as Record<string, string | undefined>).dc;
    if (dc && dc !== datacenter) throw new ConsulHttpError(500, 'No path to datacenter');
  });
  if (options.aclToken) app.addHook('onRequest', async (req) => checkToken(req, options.aclToken!));
  const maxValueBytes = options.maxValueBytes ?? 512 * KIB;
  registerKvRoutes(app, state, { maxValueBytes });
  registerTxnRoutes(app, state, { maxOps: options.maxTxnOps ?? 128, maxValueBytes, maxRequestBytes: options.maxTxnRequestBytes ?? 512 * KIB });
  registerSessionRoutes(app, state);
  registerHealthRoutes(app, state);
  app.setNotFoundHandler((_req, reply) => reply.code(404).type('text/plain').send('404 page not found\n'));
  app.setErrorHandler((err: Error, _req, reply) => {
    const status = err instanceof ConsulHttpError ? err.status : err instanceof BadRequest ? 400 : 500;
    return reply.code(status).type('text/plain; charset=utf-8').send(err.message);
  });
  return app;
}

/** Consul answers 403 for a missing (anonymous) or unknown token. */
function checkToken(req: FastifyRequest, expected: string): void {
  const bearer = req.headers.authorization?.replace(/^Bearer\s+/i, '');
  const token = (req.headers['x-consul-token'] as string | undefined) ?? bearer ?? (req.query as Record<string, string>).token;
  if (!token) throw new ConsulHttpError(403, 'Permission denied: anonymous token lacks permission');
  if (token !== expected) throw new ConsulHttpError(403, 'ACL not found');
}

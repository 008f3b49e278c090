import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Kv2Engine, VaultError } from './kv2-engine.js';
import { TokenTable, type AppRoleSpec, type TokenSpec, type TokenState } from './tokens.js';

/**
 * An HTTP double of Vault (hashicorp.md §4): KV v2 engines at configurable mounts, token lookup-self /
 * renew-self, AppRole login, `X-Vault-Token` (or `Authorization: Bearer`), errors as `{"errors":[...]}`
 * with Vault's statuses (403 permission denied, 404 `{"errors":[]}`, 400 bad input). LIST arrives as
 * `GET ?list=true` (Node's HTTP parser has no LIST verb; node-vault sends it with `noCustomHTTPVerbs`).
 * Policies are not modelled: every live token may do everything.
 */

export interface VaultDoubleOptions {
  /** KV v2 mounts (default: ['secret']). */
  mounts?: string[];
  /** A root token that never expires (default: 'root'). */
  rootToken?: string;
}

export interface VaultDouble {
  url: string;
  rootToken: string;
  tokens: TokenTable;
  engine(mount?: string): Kv2Engine;
  createToken(spec: TokenSpec): TokenState;
  addAppRole(spec: AppRoleSpec): void;
  close(): Promise<void>;
}

export async function createVaultDouble(options: VaultDoubleOptions = {}): Promise<VaultDouble> {
  const tokens = new TokenTable();
  const rootToken = options.rootToken ?? 'root';
  tokens.create({ policies: ['root'], ttlSeconds: 0 }, 'auth/token/root', rootToken);
  const engines = new Map((options.mounts ?? ['secret']).map((m) => [m, new Kv2Engine()]));
  const app = buildApp(tokens, engines);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    rootToken,
    tokens,
    engine: (mount = 'secret') => engines.get(mount)!,
    createToken: (spec) => tokens.create(spec),
    addAppRole: (spec) => tokens.addRole(spec),
    close: () => app.close(),
  };
}

const UNAUTHENTICATED = new Set(['sys/health', 'auth/approle/login']);

function buildApp(tokens: TokenTable, engines: Map<string, Kv2Engine>): FastifyInstance {
  const app = Fastify({ forceCloseConnections: true });
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, (_req, body, done) => done(null, JSON.parse(String(body))));
  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE'],
    url: '/v1/*',
    handler: async (req, reply) => {
      const path = (req.params as { '*': string })['*'];
      const token = UNAUTHENTICATED.has(path) ? undefined : authenticate(tokens, req);
      return dispatch({ req, reply, path, token, tokens, engines });
    },
  });
  app.setErrorHandler((err: Error, _req, reply) => {
    const status = err instanceof VaultError ? err.status : ((err as { statusCode?: number }).statusCode ?? 500);
    return reply.code(status).send({ errors: err.message ? [err.message] : [] });
  });
  return app;
}

function authenticate(tokens: TokenTable, req: FastifyRequest): TokenState {
  const header = (req.headers['x-vault-token'] as string | undefined) ?? req.headers.authorization?.replace(/^Bearer\s+/i, '');
  const token = tokens.lookup(header);
  if (!token) throw new VaultError(403, 'permission denied');
  return token;
}

interface Call {
  req: FastifyRequest;
  reply: FastifyReply;
  path: string;
  token: TokenState | undefined;
  tokens: TokenTable;
  engines: Map<string, Kv2Engine>;
}

async function dispatch(call: Call): Promise<unknown> {
  const { path, req } = call;
  if (path === 'sys/health') return { initialized: true, sealed: false, standby: false, version: 'double' };
  if (path === 'auth/approle/login' && req.method !== 'GET') return approleLogin(call);
  if (path === 'auth/token/lookup-self' && req.method === 'GET') return lookupSelf(call.tokens, call.token!);
  if (path === 'auth/token/renew-self' && req.method !== 'GET') return renewSelf(call);
  const [mount, kind, ...rest] = path.split('/');
  const engine = call.engines.get(mount ?? '');
  if (!engine || !kind) throw new VaultError(404, `no handler for route "${path}". route entry not found.`);
  return kvRoute(call, engine, kind, rest.join('/'));
}

function kvRoute(call: Call, engine: Kv2Engine, kind: string, secretPath: string): unknown {
  const { req, reply } = call;
  const body = (req.body ?? {}) as Record<string, unknown>;
  const list = req.method === 'GET' && ['true', '1'].includes(String((req.query as Record<string, string>).list));
  switch (`${kind} ${req.method}`) {
    case 'data GET':
      return readData(engine, secretPath, Number((req.query as Record<string, string>).version ?? 0), reply);
    case 'data POST':
    case 'data PUT':
      return envelope(engine.write(secretPath, body));
    case 'data DELETE':
      return noContent(reply, () => engine.softDelete(secretPath));
    case 'metadata GET':
      return list ? listKeys(engine, secretPath) : readMetadata(engine, secretPath);
    case 'metadata POST':
    case 'metadata PUT':
      return noContent(reply, () => engine.writeMetadata(secretPath, body));
    case 'metadata DELETE':
      return noContent(reply, () => engine.deleteAll(secretPath));
    case 'delete POST':
    case 'delete PUT':
      return noContent(reply, () => engine.softDelete(secretPath, versionsOf(body)));
    case 'undelete POST':
    case 'undelete PUT':
      return noContent(reply, () => engine.undelete(secretPath, versionsOf(body)));
    case 'destroy POST':
    case 'destroy PUT':
      return noContent(reply, () => engine.destroy(secretPath, versionsOf(body)));
    default:
      throw new VaultError(405, `unsupported operation`);
  }
}

function readData(engine: Kv2Engine, path: string, version: number, reply: FastifyReply): unknown {
  const found = engine.read(path, version);
  if (!found) throw new VaultError(404, '');
  const body = envelope({ data: found.data, metadata: found.metadata });
  return found.deleted ? reply.code(404).send(body) : body;
}

function readMetadata(engine: Kv2Engine, path: string): unknown {
  const meta = engine.metadata(path);
  if (!meta) throw new VaultError(404, '');
  return envelope(meta);
}

function listKeys(engine: Kv2Engine, prefix: string): unknown {
  const keys = engine.list(prefix);
  if (keys.length === 0) throw new VaultError(404, '');
  return envelope({ keys });
}

function versionsOf(body: Record<string, unknown>): number[] {
  if (!Array.isArray(body.versions) || body.versions.length === 0) throw new VaultError(400, 'no version number provided');
  return body.versions.map(Number);
}

function approleLogin(call: Call): unknown {
  const body = (call.req.body ?? {}) as Record<string, unknown>;
  const token = call.tokens.login(body.role_id, body.secret_id);
  return { ...envelope(null), auth: authJson(token, token.ttlSeconds) };
}

function lookupSelf(tokens: TokenTable, token: TokenState): unknown {
  return envelope({
    accessor: token.accessor,
    creation_time: Math.floor(token.issuedAt / 1000),
    creation_ttl: token.ttlSeconds,
    expire_time: token.expiresAt === undefined ? null : new Date(token.expiresAt).toISOString(),
    explicit_max_ttl: 0,
    id: token.id,
    issue_time: new Date(token.issuedAt).toISOString(),
    meta: null,
    num_uses: 0,
    orphan: true,
    path: token.path,
    policies: token.policies,
    renewable: token.renewable,
    ttl: tokens.ttlLeft(token),
    type: 'service',
  });
}

function renewSelf(call: Call): unknown {
  const body = (call.req.body ?? {}) as { increment?: number | string };
  const increment = typeof body.increment === 'string' ? parseInt(body.increment, 10) : body.increment;
  const { leaseSeconds, warnings } = call.tokens.renew(call.token!, increment);
  return { ...envelope(null), warnings, auth: authJson(call.token!, leaseSeconds) };
}

function authJson(token: TokenState, leaseSeconds: number): Record<string, unknown> {
  return {
    client_token: token.id,
    accessor: token.accessor,
    policies: token.policies,
    token_policies: token.policies,
    metadata: null,
    lease_duration: leaseSeconds,
    renewable: token.renewable,
    entity_id: '',
    token_type: 'service',
    orphan: true,
  };
}

function envelope(data: unknown): Record<string, unknown> {
  return { request_id: randomUUID(), lease_id: '', renewable: false, lease_duration: 0, data, wrap_info: null, warnings: null, auth: null };
}

function noContent(reply: FastifyReply, action: () => void): FastifyReply {
  action();
  return reply.code(204).send();
}

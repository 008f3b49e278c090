import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequest, blocking, has, queryOf, type Query } from './blocking.js';
import { entryJson } from './kv-table.js';
import type { ConsulDoubleState } from './state.js';

/**
 * `/v1/kv/*` as consul `agent/kvs_endpoint.go` answers it (hashicorp.md §3.3). Errors are text/plain with
 * Consul's wording; a missing key is a 404 with an empty body that still carries `X-Consul-Index`.
 */

export interface KvRouteOptions {
  /** `kv_max_value_size` (default 524288). */
  maxValueBytes: number;
}

/** Thrown by handlers; the double's error handler answers `status` with `message` as text/plain. */
export class ConsulHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function registerKvRoutes(app: FastifyInstance, state: ConsulDoubleState, options: KvRouteOptions): void {
  app.get('/v1/kv/*', async (req, reply) => readKv(state, req, reply));
  app.put('/v1/kv/*', async (req) => writeKv(state, req, options));
  app.delete('/v1/kv/*', async (req) => deleteKv(state, req));
}

/** The key as Consul sees it: the decoded path after `/v1/kv/`. */
function keyOf(req: FastifyRequest): string {
  const path = req.url.split('?')[0]!.slice('/v1/kv/'.length);
  const raw = path;
  if (raw.includes('../') || /%2e%2e(%2f|\/)|\.\.%2f|%2e%2e%5c/i.test(raw)) {
    throw new ConsulHttpError(400, raw.includes('../') ? 'URL path contains invalid traversal sequence' : 'URL path contains encoded traversal sequence');
  }
  return decodeURIComponent(raw);
}

async function readKv(state: ConsulDoubleState, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const key = keyOf(req);
  const query = queryOf(req);
  if (has(query, 'keys')) return listKeys(state, req, reply, key, separatorOf(query));
  if (has(query, 'recurse')) {
    const entries = await blocking(state, req, reply, () => {
      const index = state.kv.prefixIndex(key);
      return { index, watch: index, result: state.kv.list(key) };
    });
    state.kvItemsRead += entries.length;
    return entries.length === 0 ? notFound(reply) : entries.map((e) => entryJson(e));
  }
  if (key === '') throw new ConsulHttpError(400, 'Missing key name');
  const entry = await blocking(state, req, reply, () => ({
    index: state.kv.maxIndex,
    watch: state.kv.keyVersion(key),
    result: state.kv.get(key),
  }));
  if (!entry) return notFound(reply);
  state.kvItemsRead += 1;
  if (has(query, 'raw')) return reply.type('text/plain').send(entry.Value ?? Buffer.alloc(0));
  return [entryJson(entry)];
}

async function listKeys(state: ConsulDoubleState, req: FastifyRequest, reply: FastifyReply, prefix: string, sep: string): Promise<unknown> {
  const keys = await blocking(state, req, reply, () => {
    const index = state.kv.prefixIndex(prefix);
    return { index, watch: index, result: collapse(state.kv.list(prefix).map((e) => e.Key), prefix, sep) };
  });
  state.kvItemsRead += keys.length;
  return keys.length === 0 && prefix !== '' ? notFound(reply) : keys;
}

/** With a separator, keys below the next separator fold into one `prefix…sep` entry. */
function collapse(keys: string[], prefix: string, sep: string): string[] {
  if (sep === '') return keys;
  const out: string[] = [];
  for (const key of keys) {
    const at = key.indexOf(sep, prefix.length);
    const folded = at === -1 ? key : key.slice(0, at + sep.length);
    if (out.at(-1) !== folded) out.push(folded);
  }
  return out;
}

function separatorOf(query: Query): string {
  return query.separator ?? query.seperator ?? '';
}

async function writeKv(state: ConsulDoubleState, req: FastifyRequest, options: KvRouteOptions): Promise<boolean> {
  const key = keyOf(req);
  const query = queryOf(req);
  if (key === '') throw new ConsulHttpError(400, 'Missing key name');
  assertValidKey(key);
  conflicting(query, ['cas', 'acquire', 'release']);
  const value = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
  if (value.length > options.maxValueBytes) throw tooLarge(value.length, options.maxValueBytes);
  const entry = { Key: key, Flags: uint(query, 'flags'), Value: value };
  if (has(query, 'cas')) return state.write((idx) => state.kv.cas(idx, entry, uint(query, 'cas')) !== undefined);
  if (has(query, 'acquire')) return acquire(state, entry, query.acquire ?? '');
  if (has(query, 'release')) return state.write((idx) => state.kv.unlock(idx, entry, requireSession(query.release)) !== undefined);
  state.write((idx) => state.kv.set(idx, entry));
  return true;
}

function acquire(state: ConsulDoubleState, entry: { Key: string; Flags: number; Value: Buffer }, session: string): boolean {
  const id = requireSession(session);
  if (!state.sessions.has(id)) throw new ConsulHttpError(500, `invalid session "${id}"`);
  // Consul's KVS.Apply refuses a lock during the key's lock-delay with false, not an error.
  if (state.inLockDelay(entry.Key)) return false;
  return state.write((idx) => state.kv.lock(idx, entry, id) !== undefined);
}

async function deleteKv(state: ConsulDoubleState, req: FastifyRequest): Promise<boolean> {
  const key = keyOf(req);
  const query = queryOf(req);
  conflicting(query, ['recurse', 'cas']);
  if (has(query, 'recurse')) return state.write((idx) => (state.kv.deleteTree(idx, key), true));
  if (key === '') throw new ConsulHttpError(400, 'Missing key name');
  if (has(query, 'cas')) return state.write((idx) => state.kv.deleteCas(idx, key, uint(query, 'cas')));
  state.write((idx) => state.kv.delete(idx, key));
  return true;
}

function requireSession(session: string | undefined): string {
  if (!session) throw new ConsulHttpError(500, 'missing session');
  return session;
}

function conflicting(query: Query, flags: string[]): void {
  if (flags.filter((f) => has(query, f)).length > 1) {
    const encoded = new URLSearchParams(Object.entries(query).sort(([a], [b]) => (a < b ? -1 : 1)) as Array<[string, string]>);
    throw new ConsulHttpError(400, `Conflicting flags: ${encoded.toString()}\n`);
  }
}

function uint(query: Query, name: string): number {
  const raw = query[name];
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw)) throw new ConsulHttpError(500, `strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(raw);
}

function tooLarge(size: number, max: number): ConsulHttpError {
  return new ConsulHttpError(
    413,
    `Request body(${size} bytes) too large, max size: ${max} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`,
  );
}

/** Recent Consul's key check on the KV endpoint (kvs_endpoint.go `validateKVKey`). */
function assertValidKey(key: string): void {
  if (key.startsWith('/')) throw new ConsulHttpError(400, "key must not begin with a '/'");
  const bad = [...key].findIndex((c) => !/[A-Za-z0-9,\-_./]/.test(c));
  if (bad !== -1) {
    throw new ConsulHttpError(400, `key contains invalid character '${[...key][bad]}' at position ${bad}. Only alphanumeric characters and ,-_./ are allowed`);
  }
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).send('');
}

export { BadRequest };

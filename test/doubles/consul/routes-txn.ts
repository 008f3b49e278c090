import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { setQueryMeta } from './blocking.js';
import { entryJson, type DirEntry } from './kv-table.js';
import { ConsulHttpError } from './routes-kv.js';
import type { ConsulDoubleState } from './state.js';

/**
 * `PUT /v1/txn` (hashicorp.md §3.4; consul `agent/txn_endpoint.go`, `state/txn.go`): KV operations only.
 * Limits are checked in Consul's order (body length, operation count, each value); then every operation
 * runs, each failure is collected with its position, and any failure rolls everything back with a 409.
 */

export interface TxnRouteOptions {
  /** 128 since Consul 1.14, 64 before. */
  maxOps: number;
  /** `txn_max_req_len` (default 524288; never below `kv_max_value_size`). */
  maxRequestBytes: number;
  maxValueBytes: number;
}

interface KvOpIn {
  Verb: string;
  Key: string;
  Value?: string | null;
  Flags?: number;
  Index?: number;
  Session?: string;
}

interface OpResult {
  entry?: DirEntry;
  withValue?: boolean;
}

const WRITES = new Set(['set', 'delete', 'delete-cas', 'delete-tree', 'cas', 'lock', 'unlock']);

export function registerTxnRoutes(app: FastifyInstance, state: ConsulDoubleState, options: TxnRouteOptions): void {
  app.put('/v1/txn', async (req, reply) => runTxn(state, req, reply, options));
}

async function runTxn(state: ConsulDoubleState, req: FastifyRequest, reply: FastifyReply, options: TxnRouteOptions): Promise<unknown> {
  const ops = parseOps(req, options);
  const isWrite = ops.some((op) => WRITES.has(op.Verb));
  const outcome = isWrite ? state.write((idx) => applyAll(state, ops, idx)) : applyAll(state, ops, 0);
  if (!isWrite) setQueryMeta(reply, state.kv.maxIndex);
  if (outcome.errors.length > 0) return reply.code(409).send({ Results: null, Errors: outcome.errors });
  return { Results: outcome.results.map((r) => ({ KV: entryJson(r.entry!, r.withValue === true) })), Errors: null };
}

function parseOps(req: FastifyRequest, options: TxnRouteOptions): Array<KvOpIn & { value: Buffer | null }> {
  const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
  const maxLen = Math.max(options.maxRequestBytes, options.maxValueBytes);
  if (body.length > maxLen) throw new ConsulHttpError(413, `Request body too large, max size: ${maxLen} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ConsulHttpError(400, `Failed to parse body: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new ConsulHttpError(400, 'Failed to parse body: json: cannot unmarshal object into Go value of type api.TxnOps');
  if (parsed.length > options.maxOps) {
    throw new ConsulHttpError(413, `Transaction contains too many operations (${parsed.length} > ${options.maxOps})`);
  }
  return parsed.map((op: { KV?: KvOpIn }) => {
    if (!op.KV) throw new ConsulHttpError(400, 'Failed to parse body: only KV operations are supported by this double');
    const value = op.KV.Value ? Buffer.from(op.KV.Value, 'base64') : null;
    if (value && value.length > options.maxValueBytes) {
      throw new ConsulHttpError(413, `Value for key "${op.KV.Key}" is too large (${value.length} > ${options.maxValueBytes} bytes)`);
    }
    return { ...op.KV, value };
  });
}

function applyAll(state: ConsulDoubleState, ops: Array<KvOpIn & { value: Buffer | null }>, idx: number) {
  const rollback = state.kv.snapshot();
  const results: OpResult[] = [];
  const errors: Array<{ OpIndex: number; What: string }> = [];
  ops.forEach((op, i) => {
    try {
      results.push(...applyOne(state, op, idx));
    } catch (err) {
      errors.push({ OpIndex: i, What: (err as Error).message });
    }
  });
  if (errors.length > 0) rollback();
  return { results, errors };
}

/** One KV operation, with the error texts of consul `state/txn.go` and `state/kvs.go`. */
function applyOne(state: ConsulDoubleState, op: KvOpIn & { value: Buffer | null }, idx: number): OpResult[] {
  const kv = state.kv;
  const key = op.Key;
  const entry = { Key: key, Flags: op.Flags ?? 0, Value: op.value };
  const q = JSON.stringify(key);
  switch (op.Verb) {
    case 'set':
      return [{ entry: kv.set(idx, entry) }];
    case 'cas':
      return [{ entry: kv.cas(idx, entry, op.Index ?? 0) ?? fail(`failed to set key ${q}, index is stale`) }];
    case 'lock':
      return [{ entry: lock(state, entry, op.Session ?? '', idx) }];
    case 'unlock':
      return [{ entry: kv.unlock(idx, entry, session(op.Session)) ?? fail(`failed to unlock key ${q}, lock isn't held, or is held by another session`) }];
    case 'get':
      state.kvItemsRead += 1;
      return [{ entry: kv.get(key) ?? fail(`key ${q} doesn't exist`), withValue: true }];
    case 'get-or-empty':
      state.kvItemsRead += 1;
      return [{ entry: kv.get(key) ?? { ...entry, Value: null, LockIndex: 0, CreateIndex: 0, ModifyIndex: 0 }, withValue: true }];
    case 'get-tree':
      state.kvItemsRead += kv.list(key).length;
      return kv.list(key).map((e) => ({ entry: e, withValue: true }));
    case 'check-index':
      return [{ entry: checkIndex(state, key, op.Index ?? 0) }];
    case 'check-session':
      return [{ entry: checkSession(state, key, op.Session ?? '') }];
    case 'check-not-exists':
      return kv.get(key) ? fail(`key ${q} exists`) : [];
    case 'delete':
      return (kv.delete(idx, key), []);
    case 'delete-cas':
      return kv.deleteCas(idx, key, op.Index ?? 0) ? [] : fail(`failed to delete key ${q}, index is stale`);
    case 'delete-tree':
      return (kv.deleteTree(idx, key), []);
    default:
      return fail(`unknown KV verb ${JSON.stringify(op.Verb)}`);
  }
}

function lock(state: ConsulDoubleState, entry: { Key: string; Flags: number; Value: Buffer | null }, id: string, idx: number): DirEntry {
  if (!state.sessions.has(session(id))) fail(`invalid session ${JSON.stringify(id)}`);
  const held = state.inLockDelay(entry.Key) ? undefined : state.kv.lock(idx, entry, id);
  return held ?? fail(`failed to lock key ${JSON.stringify(entry.Key)}, lock is already held`);
}

function checkIndex(state: ConsulDoubleState, key: string, index: number): DirEntry {
  const entry = state.kv.get(key) ?? fail(`failed to check index, key ${JSON.stringify(key)} doesn't exist`);
  if (entry.ModifyIndex !== index) fail(`failed index check for key ${JSON.stringify(key)}, current modify index ${entry.ModifyIndex} != ${index}`);
  return entry;
}

function checkSession(state: ConsulDoubleState, key: string, id: string): DirEntry {
  const entry = state.kv.get(key) ?? fail(`failed to check session, key ${JSON.stringify(key)} doesn't exist`);
  const current = entry.Session ?? '';
  if (current !== id) fail(`failed session check for key ${JSON.stringify(key)}, current session ${JSON.stringify(current)} != ${JSON.stringify(id)}`);
  return entry;
}

function session(id: string | undefined): string {
  return id || fail('missing session');
}

function fail(what: string): never {
  throw new Error(what);
}

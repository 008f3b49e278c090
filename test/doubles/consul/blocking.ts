import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseDurationMs } from './sessions.js';
import type { ConsulDoubleState } from './state.js';

/**
 * Consul's blocking queries (hashicorp.md §3.1, consul `api-docs/features/blocking.mdx`): `?index=N`
 * holds the request until the result's index exceeds N or `wait` (default 5 m, at most 10 m, plus jitter of
 * up to wait/16) passes. Every read answers `X-Consul-Index` (never 0: Consul sends 1 instead),
 * `X-Consul-KnownLeader` and `X-Consul-LastContact`.
 */

const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;

export class BadRequest extends Error {}

export interface Outcome<T> {
  /** The index the response reports. */
  index: number;
  result: T;
  /** What the query watches (Consul's watch set): the query re-runs only when this moves. */
  watch: number;
}

export type Query = Record<string, string | undefined>;

export function queryOf(req: FastifyRequest): Query {
  return req.query as Query;
}

export function has(query: Query, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(query, name);
}

/** Runs `run` now and again after every write until its index passes `?index`, or the wait ends. */
export async function blocking<T>(state: ConsulDoubleState, req: FastifyRequest, reply: FastifyReply, run: () => Outcome<T>): Promise<T> {
  const query = queryOf(req);
  const minIndex = parseIndex(query.index);
  const deadline = Date.now() + waitMs(query.wait);
  let out = run();
  while (minIndex > 0 && out.index <= minIndex && Date.now() < deadline && !req.raw.destroyed) {
    await state.changed(deadline - Date.now());
    const next = run();
    if (next.watch !== out.watch) out = next;
  }
  setQueryMeta(reply, out.index);
  return out.result;
}

export function setQueryMeta(reply: FastifyReply, index: number): void {
  reply.header('X-Consul-Index', String(Math.max(1, index)));
  reply.header('X-Consul-KnownLeader', 'true');
  reply.header('X-Consul-LastContact', '0');
}

function parseIndex(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw)) throw new BadRequest('Invalid index');
  return Number(raw);
}

function waitMs(raw: string | undefined): number {
  if (raw === undefined || raw === '') return withJitter(DEFAULT_WAIT_MS);
  const ms = parseDurationMs(raw);
  if (ms === undefined) throw new BadRequest('Invalid wait time');
  return withJitter(Math.min(ms, MAX_WAIT_MS));
}

function withJitter(ms: number): number {
  return ms + Math.floor(Math.random() * (ms / 16));
}

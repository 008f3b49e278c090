import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Cluster, Table } from './cluster.js';

/** Nomad's plain-text error answer (hashicorp.md §1.1: error bodies are not JSON). */
export class NomadHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | undefined>;

export const queryOf = (request: FastifyRequest): Query => request.query as Query;

/** `?namespace=` (default `default`). */
export function namespaceOf(request: FastifyRequest): string {
  return queryOf(request).namespace || 'default';
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses Nomad's `wait` (a Go duration); 400 "Invalid wait time" otherwise. Capped at 300 s. */
function parseWait(text: string | undefined): number {
  if (text === undefined) return 300_000;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new NomadHttpError(400, 'Invalid wait time');
  return Math.min(300_000, parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]!]!, 0));
}

/**
 * A blocking query (hashicorp.md §1.1): with `?index=N` the read waits until the table's index passes N or
 * `wait` elapses, then answers with `X-Nomad-Index`.
 */
export async function blockingRead<T>(cluster: Cluster, table: Table, request: FastifyRequest, reply: FastifyReply, read: () => T): Promise<T> {
  const q = queryOf(request);
  const index = q.index === undefined ? 0 : Number(q.index);
  if (!Number.isInteger(index) || index < 0) throw new NomadHttpError(400, 'Invalid index');
  const wait = parseWait(q.wait);
  if (index > 0) {
    const deadline = Date.now() + wait;
    const gone = new AbortController();
    request.raw.once('close', () => gone.abort());
    while (cluster.tableIndex[table] <= index && Date.now() < deadline && !gone.signal.aborted) {
      await cluster.waitForChange(deadline - Date.now(), gone.signal);
    }
  }
  const result = read();
  reply.header('X-Nomad-Index', String(cluster.tableIndex[table])).header('X-Nomad-KnownLeader', 'true').header('X-Nomad-LastContact', '0');
  return result;
}

/** The ACL check: with a management token configured, any other token (or none) is refused as Nomad does. */
export function checkToken(request: FastifyRequest, token: string | undefined): void {
  if (!token) return;
  const header = request.headers['x-nomad-token'] ?? /^bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (header === undefined || header === '') throw new NomadHttpError(403, 'Permission denied');
  if (header !== token) throw new NomadHttpError(403, 'ACL token not found');
}

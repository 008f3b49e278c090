import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Cluster } from './cluster.js';
import { NomadHttpError, queryOf } from './http.js';

/**
 * `GET /v1/client/fs/logs/:alloc` (hashicorp.md §1.8): one stream per request; `plain=true` raw bytes,
 * else concatenated JSON frames with base64 `Data` and `{}` heartbeats; `follow=true` never ends on its
 * own, even after the allocation ends (as Nomad's does not).
 */
export async function logRoutes(app: FastifyInstance, { cluster, heartbeatMs }: { cluster: Cluster; heartbeatMs: number }): Promise<void> {
  app.get('/v1/client/fs/logs/:alloc', async (request, reply) => {
    const { stream, task, offset } = checkLogRequest(cluster, request);
    const q = queryOf(request);
    const plain = q.plain === 'true';
    reply.header('Content-Type', plain ? 'text/plain' : 'application/json');
    const read = () => cluster.logs.get((request.params as { alloc: string }).alloc)![stream];
    const start = q.origin === 'end' ? Math.max(0, read().length - offset) : offset;
    if (q.follow !== 'true') return reply.send(frame(read().subarray(start), start, task, stream, plain));
    return follow(reply, request, { read, start, plain, name: fileName(task, stream), cluster, heartbeatMs });
  });
}

function fileName(task: string, stream: string): string {
  return `alloc/logs/${task}.${stream}.0`;
}

function frame(data: Buffer, offset: number, task: string, stream: string, plain: boolean): string | Buffer {
  if (plain) return data;
  if (data.length === 0) return '';
  return JSON.stringify({ Offset: offset + data.length, Data: data.toString('base64'), File: fileName(task, stream) });
}

function checkLogRequest(cluster: Cluster, request: FastifyRequest) {
  const id = (request.params as { alloc: string }).alloc;
  const q = queryOf(request);
  if (!q.task) throw new NomadHttpError(400, 'must provide task name');
  if (q.type !== 'stdout' && q.type !== 'stderr') throw new NomadHttpError(400, 'must provide log type (stdout/stderr)');
  if (q.origin !== undefined && q.origin !== 'start' && q.origin !== 'end') throw new NomadHttpError(400, 'origin must be start or end');
  const alloc = cluster.allocs.get(id);
  if (!alloc) throw new NomadHttpError(404, `Unknown allocation "${id}"`);
  const tasks = alloc.Job?.TaskGroups[0]?.Tasks.map((t) => t.Name) ?? [];
  if (!tasks.includes(q.task)) throw new NomadHttpError(400, `unknown task name "${q.task}"`);
  if (!alloc.TaskStates?.[q.task]?.StartedAt) throw new NomadHttpError(404, `task "${q.task}" not started yet. No logs available`);
  return { stream: q.type as 'stdout' | 'stderr', task: q.task, offset: Number(q.offset ?? 0) };
}

interface FollowOptions {
  read: () => Buffer;
  start: number;
  plain: boolean;
  name: string;
  cluster: Cluster;
  heartbeatMs: number;
}

async function follow(reply: FastifyReply, request: FastifyRequest, o: FollowOptions): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'Content-Type': o.plain ? 'text/plain' : 'application/json' });
  const gone = new AbortController();
  request.raw.once('close', () => gone.abort());
  let sent = o.start;
  while (!gone.signal.aborted) {
    const data = o.read();
    if (data.length > sent) {
      const chunk = data.subarray(sent);
      res.write(o.plain ? chunk : JSON.stringify({ Offset: data.length, Data: chunk.toString('base64'), File: o.name }));
      sent = data.length;
    } else if (!o.plain) {
      res.write('{}');
    }
    await o.cluster.waitForChange(o.heartbeatMs, gone.signal);
  }
  res.end();
}

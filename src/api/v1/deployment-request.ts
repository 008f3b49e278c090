import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import replyFrom from '@fastify/reply-from';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { DeploymentService } from '../../deployments/deployment-service.js';
import type { RequestStats } from '../../deployments/request-stats.js';
import type { Endpoint, ReplicaDiscovery } from '../../discovery/discovery.js';
import { appError } from '../../shared/errors.js';
import { streamedBodyLimit } from '../plugins/request-limits.js';

export interface DirectRequestOptions {
  deployments: DeploymentService;
  /** Where the healthy replicas are (Consul's health API on a cluster, the scheduler's view otherwise). */
  discovery: ReplicaDiscovery;
  stats: RequestStats;
  metrics: Registry;
  /** Scale from zero: an immediate autoscaler evaluation of a deployment at zero replicas (§8.20). */
  wake: (deploymentId: string) => Promise<void>;
  /** Largest body streamed to a replica: a declared Content-Length above it is refused at once. */
  maxBodyBytes: number;
}

type Direct = { Params: { name: string; '*'?: string } };

const PREFIX = '/v1/deployment-request/';

/** Inference calls may take minutes; the proxy must not cut them short. */
const UPSTREAM_TIMEOUT_MS = 15 * 60_000;

/** Headers that belong to the hop to Gantry, or are the caller's credentials: never forwarded. */
const DROPPED_HEADERS = ['authorization', 'host', 'connection', 'keep-alive', 'proxy-authorization'];

/**
 * Direct HTTP to a deployment (compat.md §5.5, §8.20): any method and path under
 * `/v1/deployment-request/<name>/` is streamed to a ready replica, round robin, authenticated by the
 * caller's API key (which the replica never sees). 503 with a clear message when none is ready; a
 * deployment scaled to zero is woken up.
 */
export async function deploymentRequestRoutes(app: FastifyInstance, options: DirectRequestOptions): Promise<void> {
  // Registered once per context: the leader-forwarding plugin around these routes may have done it.
  if (!app.hasReplyDecorator('from')) {
    await app.register(replyFrom, {
      undici: { headersTimeout: UPSTREAM_TIMEOUT_MS, bodyTimeout: UPSTREAM_TIMEOUT_MS },
      disableRequestLogging: true,
    });
  }
  app.addHook('onRoute', streamedBodyLimit(options.maxBodyBytes));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  const proxy = createProxy(options);
  app.all<Direct>('/v1/deployment-request/:name', proxy);
  app.all<Direct>('/v1/deployment-request/:name/*', proxy);
}

function createProxy({ deployments, discovery, stats, metrics, wake }: DirectRequestOptions) {
  const counters = directMetrics(metrics);
  const picker = new RoundRobin();
  return async (request: FastifyRequest<Direct>, reply: FastifyReply): Promise<FastifyReply> => {
    assertNoDotSegments(forwardedPath(request.url));
    const record = await deployments.record(request.params.name);
    const ready = await discovery.healthy(record);
    const replica = picker.next(record.id, ready);
    if (!replica) throw await noReplica(wake, record.id, record.name, record.min_replicas);
    const started = performance.now();
    const target = `http://${replica.address.host}:${replica.address.port}${forwardedPath(request.url)}`;
    return reply.from(target, {
      rewriteRequestHeaders: (_req, headers) => withoutHeaders(headers),
      onError: (r, { error }) => r.send(proxyError(record.name, error)),
      onResponse: (_req, res, upstream) => {
        const ms = performance.now() - started;
        stats.record(record.id, ms);
        counters.observe(record.name, upstream.statusCode ?? 0, ms);
        void res.send(upstream.stream);
      },
    });
  };
}

async function noReplica(wake: DirectRequestOptions['wake'], id: string, name: string, min: number) {
  if (min === 0) await wake(id);
  const more = min === 0 ? '; it was scaled to zero and is starting now, retry shortly' : '';
  return appError('GANTRY_ERR_DEPLOYMENT_NO_REPLICA', `deployment "${name}" has no ready replica${more}`);
}

function withoutHeaders<T extends Record<string, unknown>>(headers: T): T {
  const copy = { ...headers };
  for (const h of DROPPED_HEADERS) delete copy[h];
  return copy;
}

/**
 * The path and query after `/v1/deployment-request/<name>`, exactly as the caller encoded them: `%2F` stays
 * inside a segment and `%3F` inside the path, never turned into a slash or a query.
 */
export function forwardedPath(rawUrl: string): string {
  const afterName = rawUrl.slice(PREFIX.length).search(/[/?]/);
  const rest = afterName === -1 ? '' : rawUrl.slice(PREFIX.length + afterName);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/**
 * A `.` or `..` segment, also percent-encoded or next to an encoded slash, would be resolved away on the
 * way to the replica (or by the replica), so the caller would reach another path than the one it named.
 */
function assertNoDotSegments(forwarded: string): void {
  const path = forwarded.split('?')[0]!;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw appError('GANTRY_ERR_REQUEST_BAD_URL', `path: ${path} is not valid percent-encoding`, { param: 'path' });
  }
  if (decoded.split('/').some((segment) => segment === '.' || segment === '..') || decoded.includes('/..') || decoded.includes('../')) {
    throw appError('GANTRY_ERR_REQUEST_BAD_URL', `path: ${path} holds a "." or ".." segment (also percent-encoded), which is not forwarded`, {
      param: 'path',
    });
  }
}

function proxyError(name: string, error: Error) {
  return appError('GANTRY_ERR_DEPLOYMENT_PROXY', `deployment "${name}": the replica could not be reached or did not answer (${error.message})`, {
    cause: error,
  });
}

class RoundRobin {
  private readonly turns = new Map<string, number>();

  next(deploymentId: string, replicas: Endpoint[]): Endpoint | undefined {
    if (replicas.length === 0) return undefined;
    const turn = this.turns.get(deploymentId) ?? 0;
    this.turns.set(deploymentId, turn + 1);
    const sorted = [...replicas].sort((a, b) => a.replicaId.localeCompare(b.replicaId));
    return sorted[turn % sorted.length];
  }
}

function directMetrics(registry: Registry) {
  const labelNames = ['deployment', 'status_code'] as const;
  const requests = new Counter({
    name: 'gantry_direct_requests_total',
    help: 'Direct HTTP requests proxied to deployments',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gantry_direct_request_duration_seconds',
    help: 'Duration of direct HTTP requests proxied to deployments, until the upstream answered',
    labelNames,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  return {
    observe(deployment: string, status: number, ms: number): void {
      const labels = { deployment, status_code: String(status) };
      requests.inc(labels);
      duration.observe(labels, ms / 1000);
    },
  };
}

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Histogram, type Registry } from 'prom-client';

export interface MetricsPluginOptions {
  registry: Registry;
  requireKey: boolean;
}

/**
 * Per-route request counts and latencies, labelled by the route pattern (never the raw URL, which would
 * explode cardinality and could carry signatures), served with process metrics on `/metrics`.
 */
export const metricsPlugin = fp<MetricsPluginOptions>(
  async (app: FastifyInstance, { registry, requireKey }) => {
    const labelNames = ['method', 'route', 'status_code'] as const;
    const requests = new Counter({
      name: 'gantry_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status code',
      labelNames,
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'gantry_http_request_duration_seconds',
      help: 'HTTP request latency, by route pattern and status code',
      labelNames,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    app.addHook('onResponse', async (request, reply) => {
      const labels = {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      };
      requests.inc(labels);
      duration.observe(labels, reply.elapsedTime / 1000);
    });
    app.get('/metrics', { config: { auth: requireKey ? 'user' : 'public' } }, async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'gantry-metrics' },
);

import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { KeyService } from './auth/key-service.js';
import type { ProjectInfo } from './auth/project.js';
import type { BlobStore } from './blobs/blob-store.js';
import type { ServerConfig } from './config/schema.js';
import type { SecretStore } from './secrets/secret-store.js';
import type { Clock } from './shared/clock.js';
import { newId } from './shared/ids.js';
import type { Logger } from './shared/logger.js';
import type { StateStore } from './state/state-store.js';
import type { StorageService } from './storage/storage-service.js';
import { authPlugin } from './api/plugins/auth.js';
import { errorHandlerPlugin } from './api/plugins/error-handler.js';
import { metricsPlugin } from './api/plugins/metrics.js';
import { identityRoutes } from './api/v1/identity.js';
import { secretsRoutes } from './api/v1/secrets.js';
import { storageRoutes } from './api/v1/storage.js';

/** Everything the server is built from. Tests pass doubles; `deps.ts` builds the real ones. */
export interface ServerDeps {
  config: ServerConfig;
  logger: Logger;
  clock: Clock;
  state: StateStore;
  keys: KeyService;
  secrets: SecretStore;
  blobs: BlobStore;
  storage: StorageService;
  project: ProjectInfo;
  metrics: Registry;
  /** PEM certificate and key to serve HTTPS with; absent for plain HTTP (and for inject() tests). */
  tls?: { cert: string; key: string };
}

/** Headroom above the largest payload for the rest of a JSON body (model, info, priority …). */
const BODY_OVERHEAD_BYTES = 64 * 1024;

/** Builds the Fastify app from its dependencies. No I/O happens here; `listen` is the caller's. */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.config.maxPayloadBytes + BODY_OVERHEAD_BYTES,
    genReqId: () => newId(),
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key } } : {}),
  }) as unknown as FastifyInstance;
  registerPlugins(app, deps);
  return app;
}

function registerPlugins(app: FastifyInstance, deps: ServerDeps): void {
  void app.register(errorHandlerPlugin);
  void app.register(authPlugin, { keys: deps.keys });
  void app.register(metricsPlugin, { registry: deps.metrics, requireKey: deps.config.metricsRequireKey });
  app.get('/health', { config: { auth: 'public' } }, async () => ({ status: 'ok' }));
  void app.register(identityRoutes, { project: deps.project, registry: deps.config.registry });
  void app.register(secretsRoutes, { secrets: deps.secrets });
  void app.register(storageRoutes, { storage: deps.storage, config: deps.config });
}

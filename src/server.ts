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
import type { DeploymentService } from './deployments/deployment-service.js';
import type { RequestStats } from './deployments/request-stats.js';
import type { ReplicaDiscovery } from './discovery/discovery.js';
import type { Scheduler } from './scheduler/scheduler.js';
import type { PublicUrl } from './shared/public-url.js';
import type { VolumeService } from './volumes/volume-service.js';
import { deploymentRequestRoutes } from './api/v1/deployment-request.js';
import { deploymentsRoutes } from './api/v1/deployments.js';
import { volumesRoutes } from './api/v1/volumes.js';
import { queueRoutes } from './api/v1/queue.js';
import { workerRoutes } from './api/internal/worker.js';
import type { JobQueue } from './queue/queue.js';
import type { Autoscaler } from './autoscaler/autoscaler.js';
import { authPlugin } from './api/plugins/auth.js';
import { leaderForwardPlugin } from './api/plugins/leader-forward.js';
import type { LeadershipRunner } from './coordinator/leadership.js';
import { clientErrorHandler, errorHandlerPlugin, frameworkErrors, MAX_PARAM_LENGTH, plainHttpOnTlsPort } from './api/plugins/error-handler.js';
import { requestLimitsPlugin } from './api/plugins/request-limits.js';
import { metricsPlugin } from './api/plugins/metrics.js';
import { identityRoutes } from './api/v1/identity.js';
import { jsonBodyPlugin } from './api/plugins/json-body.js';
import { secretsRoutes } from './api/v1/secrets.js';
import { storageRoutes } from './api/v1/storage.js';
import { sdkPythonRoutes } from './api/v1/sdk-python.js';
import type { PythonSdkWheel } from './sdk-index/python-wheel.js';

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
  scheduler: Scheduler;
  /** Where each deployment's healthy replicas serve HTTP (direct requests, CustomMetric scrapes). */
  discovery: ReplicaDiscovery;
  volumes: VolumeService;
  deployments: DeploymentService;
  requestStats: RequestStats;
  publicUrl: PublicUrl;
  queue: JobQueue;
  /** Leader only (run by `leadership`). */
  autoscaler: Autoscaler;
  /** Gantry's `sprocket` wheel, served as a simple package index (compat.md §8.30). */
  pythonSdk: PythonSdkWheel;
  /** Started before the server listens (the queue is rebuilt before the first request) and closed after it stops, in order. */
  lifecycle: Lifecycle[];
  /**
   * Runs the queue and the autoscaler while this replica leads, and tells the edge whether to forward.
   * Part of `lifecycle` on the embedded default (it leads at once); a cluster replica campaigns once it
   * listens (`start()` again after listening; it is idempotent), since its advertise URL may be the one it
   * listens on.
   */
  leadership: LeadershipRunner;
  /** PEM certificate and key to serve HTTPS with; absent for plain HTTP (and for inject() tests). */
  tls?: { cert: string; key: string };
}

/** A long-running part with work to do once the server listens, and to undo when it stops. */
export interface Lifecycle {
  start?(): Promise<void>;
  close?(): Promise<void>;
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
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors,
    clientErrorHandler,
    ...timeoutOptions(deps.config.requestTimeouts),
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key, ...nodeTimeouts(deps.config.requestTimeouts) } } : {}),
  }) as unknown as FastifyInstance;
  if (deps.tls) app.server.on('tlsClientError', plainHttpOnTlsPort);
  registerPlugins(app, deps);
  // A stop steps down before HTTP closes: the queue answers its waiting long polls and the lock is released
  // at once (another replica leads without waiting for TTL + lock-delay). Closing HTTP first would wait
  // for those long polls, and the process would end still holding the lock.
  app.addHook('preClose', async () => deps.leadership.close());
  return app;
}

/**
 * How long a client may take to send a request: its headers, then the whole of it. Only receipt is timed
 * (Node stops the clock once the request is in), so long polls and log `follow` answers stay open; a body
 * that stalls is cut by the request-limits plugin. No socket inactivity timeout: that would cut quiet
 * long-lived answers.
 */
function timeoutOptions(timeouts: ServerConfig['requestTimeouts']) {
  return { requestTimeout: timeouts.requestMs, keepAliveTimeout: timeouts.keepAliveMs, connectionTimeout: 0, http: nodeTimeouts(timeouts) };
}

function nodeTimeouts(timeouts: ServerConfig['requestTimeouts']) {
  return {
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    // How often Node looks for requests past those timeouts (its default, 30 s, would double them).
    connectionsCheckingInterval: Math.min(5_000, timeouts.headersMs),
    // HTTPS only: a connection that never completes its TLS handshake (Node's default is 120 s).
    handshakeTimeout: timeouts.headersMs,
  };
}

function registerPlugins(app: FastifyInstance, deps: ServerDeps): void {
  void app.register(errorHandlerPlugin);
  void app.register(jsonBodyPlugin);
  void app.register(requestLimitsPlugin, { bodyIdleMs: deps.config.requestTimeouts.bodyIdleMs });
  void app.register(authPlugin, { keys: deps.keys });
  void app.register(metricsPlugin, { registry: deps.metrics, requireKey: deps.config.metricsRequireKey });
  app.get('/health', { config: { auth: 'public' } }, async () => ({ status: 'ok' }));
  void app.register(identityRoutes, {
    project: deps.project,
    registry: deps.config.registry,
    scheduler: deps.config.cluster.nomadAddr ? 'nomad' : 'local',
  });
  void app.register(secretsRoutes, { secrets: deps.secrets });
  void app.register(storageRoutes, { storage: deps.storage, config: deps.config, listenUrl: () => deps.publicUrl.get(), certificate: deps.tls?.cert });
  void app.register(volumesRoutes, { volumes: deps.volumes });
  void app.register(deploymentsRoutes, { deployments: deps.deployments });
  void app.register(sdkPythonRoutes, { wheel: deps.pythonSdk });
  void app.register(leaderOnlyRoutes, deps);
}

/** Routes served by the leader only (it owns the queue and the autoscaler); followers forward them. */
async function leaderOnlyRoutes(app: FastifyInstance, deps: ServerDeps): Promise<void> {
  await app.register(leaderForwardPlugin, { leader: deps.leadership });
  const wake = (deploymentId: string) => deps.autoscaler.nudge(deploymentId);
  await app.register(queueRoutes, { queue: deps.queue, deployments: deps.deployments, maxPayloadBytes: deps.config.maxPayloadBytes, wake });
  await app.register(workerRoutes, { queue: deps.queue, deployments: deps.deployments });
  await app.register(deploymentRequestRoutes, {
    deployments: deps.deployments,
    discovery: deps.discovery,
    stats: deps.requestStats,
    metrics: deps.metrics,
    wake,
    maxBodyBytes: deps.config.maxUploadBytes,
  });
}

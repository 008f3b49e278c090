import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { KeyService } from './auth/key-service.js';
import { ensureProject } from './auth/project.js';
import { DirectoryBlobStore } from './blobs/directory/directory-blob-store.js';
import { migrateLegacyBlobLayout } from './blobs/directory/layout-migration.js';
import { namespaced } from './blobs/namespaces.js';
import { StorageRecords } from './storage/records.js';
import { ensurePrivateDirSync, secureDataDir } from './startup/data-dir.js';
import type { ServerConfig } from './config/schema.js';
import { LocalSecretStore } from './secrets/local/local-secret-store.js';
import type { SecretStore } from './secrets/secret-store.js';
import { buildVaultSecrets } from './secrets/vault/build.js';
import type { Lifecycle, ServerDeps } from './server.js';
import { DeploymentService } from './deployments/deployment-service.js';
import type { DeploymentRecord } from './deployments/types.js';
import { GpuCatalog, gpuTypeFromOptions } from './deployments/gpu-catalog.js';
import { RequestStats } from './deployments/request-stats.js';
import { LocalScheduler } from './scheduler/local/local-scheduler.js';
import type { Scheduler, WorkerTokens } from './scheduler/scheduler.js';
import { buildNomadScheduler } from './scheduler/nomad/from-config.js';
import type { DeploymentTokens, VolumeFiles } from './scheduler/nomad/nomad-scheduler.js';
import { storageVolumeFiles } from './scheduler/nomad/storage-volume-files.js';
import type { WorkloadSecrets } from './secrets/workload-secrets.js';
import { PublicUrl } from './shared/public-url.js';
import { VolumeService } from './volumes/volume-service.js';
import { unlessNotFound, VolumeFileUrls } from './volumes/volume-file-urls.js';
import { Autoscaler } from './autoscaler/autoscaler.js';
import { registerAutoscalerMetrics } from './autoscaler/metrics.js';
import { ScalingEvents } from './autoscaler/scaling-events.js';
import { JobStore } from './queue/job-store.js';
import { registerQueueMetrics } from './queue/metrics.js';
import { JobQueue } from './queue/queue.js';
import { WriteBatcher } from './queue/write-batcher.js';
import { systemClock, type Clock } from './shared/clock.js';
import { loadOrCreateKeyFile } from './shared/key-file.js';
import { createLogger, type Logger } from './shared/logger.js';
import { consulClientFrom } from './clients/consul/from-settings.js';
import { buildCoordinator } from './coordinator/build.js';
import { LeadershipRunner } from './coordinator/leadership.js';
import { buildDiscovery } from './discovery/build.js';
import { ConsulStateStore } from './state/consul/consul-state-store.js';
import { SqliteStateStore } from './state/sqlite/sqlite-store.js';
import type { StateStore } from './state/state-store.js';
import { StorageService } from './storage/storage-service.js';
import { PythonSdkWheel } from './sdk-index/python-wheel.js';

export interface BuildDepsOptions {
  logger?: Logger;
  clock?: Clock;
  tls?: ServerDeps['tls'];
  /** The CA file replicas must trust (the local CA of the embedded default). */
  caFile?: string;
  /** Use this scheduler instead of the one the configuration selects (tests). */
  scheduler?: Scheduler;
  /** Where Nomad jobs read their secrets (tests inject one; the cluster's is Vault). */
  workloadSecrets?: WorkloadSecrets;
}

/** Where the embedded default keeps each thing under `GANTRY_DATA_DIR`. */
export interface DataPaths {
  state: string;
  secretsKey: string;
  signingKey: string;
  /** Where blobs lived before namespaces; migrated into `blobs` at start (layout-migration.ts). */
  files: string;
  /** The BlobStore's root: `uploads/` (the Storage API's own DirectoryBlobStore), `queue/`, `volumes/` (blobs/namespaces.ts). */
  blobs: string;
  multipart: string;
  tls: string;
  adminKey: string;
  sdkWheels: string;
}

export function dataPaths(dataDir: string): DataPaths {
  return {
    state: path.join(dataDir, 'state.db'),
    secretsKey: path.join(dataDir, 'secrets.key'),
    signingKey: path.join(dataDir, 'signing.key'),
    files: path.join(dataDir, 'files'),
    blobs: path.join(dataDir, 'blobs'),
    multipart: path.join(dataDir, 'multipart'),
    tls: path.join(dataDir, 'tls'),
    adminKey: path.join(dataDir, 'admin-key'),
    sdkWheels: path.join(dataDir, 'sdk', 'python'),
  };
}

/**
 * Picks an implementation per seam: the cluster's where its address is configured (CONSUL_HTTP_ADDR,
 * NOMAD_ADDR, VAULT_ADDR), else the embedded default's.
 */
export async function buildDeps(config: ServerConfig, options: BuildDepsOptions = {}): Promise<ServerDeps> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  const paths = dataPaths(config.dataDir);
  secureDataDirLogged(config.dataDir, logger);
  const state = buildStateStore(config);
  // The whole blob store (volumes use every namespace); the Storage API and listings see `uploads/` only.
  const blobRoot = await namespacedBlobStore(paths, state, logger);
  const blobs = new DirectoryBlobStore(path.join(paths.blobs, 'uploads'));
  const jobStore = new JobStore(state, namespaced(blobRoot, 'queue'), new WriteBatcher(state));
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const keys = new KeyService(state, clock);
  const { secrets, workloadSecrets, lifecycle: secretsLifecycle } = await buildSecretStore(config, { state, clock, logger, secretsKey: paths.secretsKey });
  const publicUrl = new PublicUrl(config.publicUrl);
  const gpus = new GpuCatalog(undefined, Object.entries(config.gpuTypes).map(([name, t]) => gpuTypeFromOptions(name, t)));
  const volumes = new VolumeService({ state, blobs: blobRoot, localPathOf: (prefix) => blobRoot.localPath(prefix), clock });
  const scalingEvents = new ScalingEvents(state);
  const signingKey = loadOrCreateKeyFile(paths.signingKey);
  // Volume file URLs (Nomad artifacts) never expire: they hold while the deployment and the version exist.
  const volumeUrls: VolumeFileUrls = new VolumeFileUrls({
    key: signingKey,
    versionFiles: async (volumeId, version) => {
      const found = await unlessNotFound(volumes.resolveMount(volumeId, version), 'GANTRY_ERR_VOLUME_NOT_FOUND', 'GANTRY_ERR_VOLUME_VERSION_NOT_FOUND');
      return found?.volumeId === volumeId ? found : undefined;
    },
    deploymentExists: async (id): Promise<boolean> => {
      const found: DeploymentRecord | undefined = await unlessNotFound(deployments.record(id), 'GANTRY_ERR_DEPLOYMENT_NOT_FOUND');
      return found?.id === id;
    },
  });
  const storage = new StorageService({
    state,
    blobs,
    jobs: jobStore,
    staging: new DirectoryBlobStore(paths.multipart),
    signingKey,
    clock,
    ttlSeconds: config.signedUrlTtlSeconds,
    maxUploadBytes: config.maxUploadBytes,
    volumeUrls,
    volumeBlobs: blobRoot,
  });
  const scheduler =
    options.scheduler ??
    buildScheduler(config, { keys, clock, logger, caFile: options.caFile, gpus, workloadSecrets: options.workloadSecrets ?? workloadSecrets, volumes, blobRoot, volumeUrls, publicUrl });
  const deployments = new DeploymentService({
    state,
    secrets,
    volumes,
    scheduler,
    keys,
    gpus,
    clock,
    apiBaseUrl: () => publicUrl.get(),
    sourceRoots: config.sourceRoots,
    scalingEvents,
  });
  const queue = buildQueue(config, { store: jobStore, clock, logger, scheduler });
  registerQueueMetrics(queue, metrics);
  const requestStats = new RequestStats(clock);
  const discovery = buildDiscovery(config, { scheduler, logger });
  const autoscaler = new Autoscaler({
    deployments,
    scheduler,
    discovery,
    queue,
    requests: requestStats,
    events: scalingEvents,
    metrics: registerAutoscalerMetrics(metrics),
    clock,
    logger,
    settings: { intervalMs: config.autoscaler.intervalMs, stabilizationMs: config.autoscaler.stabilizationSeconds * 1000 },
  });
  const pythonSdk = new PythonSdkWheel({ sdkDir: PYTHON_SDK_DIR, cacheDir: paths.sdkWheels, logger });
  const leadership = buildLeadership(config, { queue, autoscaler, publicUrl, logger });
  return {
    config,
    logger,
    clock,
    state,
    keys,
    secrets,
    blobs,
    storage,
    project: await ensureProject(state, config.projectName, clock),
    metrics,
    tls: options.tls,
    scheduler,
    volumes,
    deployments,
    requestStats,
    publicUrl,
    queue,
    autoscaler,
    pythonSdk,
    leadership,
    discovery,
    // The embedded default leads at once, so its queue is rebuilt before the server listens; a cluster
    // replica campaigns once it listens (main starts `leadership` then).
    lifecycle: [...secretsLifecycle, discovery, ...(isLifecycle(scheduler) ? [scheduler] : []), ...(config.cluster.consul ? [] : [leadership])],
  };
}

/**
 * The queue, then the autoscaler, run while this replica leads. The coordinator is built when the
 * runner starts: a cluster replica advertises GANTRY_ADVERTISE_URL, else GANTRY_PUBLIC_URL, else the URL
 * it listens on (known by then).
 */
function buildLeadership(config: ServerConfig, deps: { queue: JobQueue; autoscaler: Autoscaler; publicUrl: PublicUrl; logger: Logger }): LeadershipRunner {
  const { queue, autoscaler, publicUrl, logger } = deps;
  // The single node is never forwarded to, so its URL is only informative before it listens.
  const advertiseUrl = () =>
    config.advertiseUrl ?? (config.cluster.consul ? publicUrl.get() : (publicUrl.peek() ?? `http://${config.host}:${config.port}`));
  return new LeadershipRunner({
    coordinator: () => buildCoordinator(config, { advertiseUrl: advertiseUrl(), logger }),
    work: [
      { start: ({ signal, fence }) => queue.start(signal, fence), stop: () => queue.stepDown() },
      { start: ({ signal, fence }) => autoscaler.start(signal, fence), stop: () => autoscaler.close() },
    ],
    logger,
  });
}

interface QueueDeps {
  store: JobStore;
  clock: Clock;
  logger: Logger;
  scheduler: Scheduler;
}

/** The queue over the StateStore (group commit) and BlobStore, told of every replica that ends. */
function buildQueue(config: ServerConfig, deps: QueueDeps): JobQueue {
  const queue = new JobQueue({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    settings: {
      leaseSweepMs: 500,
      claimCeilingMs: config.claimCeilingHours * 3_600_000,
      maxOutputBytes: config.maxOutputBytes,
      retentionMs: config.jobRetentionHours * 3_600_000,
    },
    incarnations: (deploymentId) => deps.scheduler.incarnations(deploymentId),
  });
  deps.scheduler.onReplicaExit((exit) => {
    queue
      .releaseReplica(exit.deploymentId, exit.replicaId, 'exited')
      .catch((err: unknown) => deps.logger.error({ err, replicaId: exit.replicaId }, 'releasing the claims of an exited replica failed'));
  });
  return queue;
}

/**
 * Gantry's Python SDK (`sdk/python`), installed into local virtualenvs of projects that require
 * `sprocket` (compat.md §8.30). Found from this module: `src/deps.ts` or `dist/src/deps.js`.
 */
const PYTHON_SDK_DIR = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../sdk/python' : '../sdk/python', import.meta.url));

interface SchedulerDeps {
  keys: KeyService;
  clock: Clock;
  logger: Logger;
  caFile: string | undefined;
  gpus: GpuCatalog;
  workloadSecrets: WorkloadSecrets | undefined;
  volumes: VolumeService;
  /** The whole blob store (every namespace): volume versions' frozen files live in it. */
  blobRoot: DirectoryBlobStore;
  volumeUrls: VolumeFileUrls;
  publicUrl: PublicUrl;
}

/** The Scheduler the configuration selects: a Nomad job per deployment with NOMAD_ADDR, else local child processes. */
function buildScheduler(config: ServerConfig, deps: SchedulerDeps): Scheduler {
  if (config.cluster.nomadAddr) {
    return buildNomadScheduler(config, {
      gpus: deps.gpus,
      tokens: deploymentTokensOf(deps.keys),
      clock: deps.clock,
      logger: deps.logger,
      workloadSecrets: deps.workloadSecrets,
      volumes: nomadVolumeFiles(deps),
    });
  }
  return new LocalScheduler({
    dataDir: config.dataDir,
    sprocketPackage: PYTHON_SDK_DIR,
    tokens: workerTokensOf(deps.keys),
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.caFile ? { caFile: deps.caFile } : {}),
    sandbox: config.sandbox.mode,
    sandboxUids: config.sandbox.uids,
    // The secret store's key: resolved secret values in the scheduler's state files are sealed with it too.
    sealKey: loadOrCreateKeyFile(dataPaths(config.dataDir).secretsKey),
  });
}

/** The volume files of Nomad jobs: a version's frozen files, each with a volume file URL that never expires. */
function nomadVolumeFiles(deps: Pick<SchedulerDeps, 'volumes' | 'blobRoot' | 'volumeUrls' | 'publicUrl'>): VolumeFiles {
  return storageVolumeFiles({
    resolve: (name, version) => deps.volumes.resolveMount(name, version),
    list: async (prefix) => (await deps.blobRoot.list(prefix)).map((b) => b.name),
    url: (file) => deps.volumeUrls.url(deps.publicUrl.get(), file),
  });
}

/** KeyService seen as the scheduler's WorkerTokens. */
function workerTokensOf(keys: KeyService): WorkerTokens {
  return {
    issue: async (deploymentId, replicaId) => (await keys.createWorkerToken(deploymentId, replicaId)).key,
    revoke: async (deploymentId, replicaId) => void (await keys.revokeWorkerTokens(deploymentId, replicaId)),
  };
}

/**
 * KeyService seen as the Nomad scheduler's deployment-scoped tokens: one per revision, revoked once no
 * allocation of the revision runs (`scheduler/nomad/revision-tokens.ts`), all revoked at destroy.
 */
function deploymentTokensOf(keys: KeyService): DeploymentTokens {
  return {
    issue: async (deploymentId, revisionId) => (await keys.createWorkerToken(deploymentId, undefined, revisionId)).key,
    revisions: async (deploymentId) => {
      const newest = new Map<string, number>();
      for (const k of await keys.list()) {
        if (k.role !== 'worker' || k.deployment_id !== deploymentId || !k.revision_id) continue;
        newest.set(k.revision_id, Math.max(newest.get(k.revision_id) ?? 0, Date.parse(k.created_at)));
      }
      return [...newest].map(([revisionId, issuedAt]) => ({ revisionId, issuedAt }));
    },
    revoke: async (deploymentId, revisionId) =>
      void (await (revisionId === undefined ? keys.revokeWorkerTokens(deploymentId) : keys.revokeRevisionTokens(deploymentId, revisionId))),
  };
}

/** Data directory 0700 and everything in it owner-only; says so when it was open to others. */
function secureDataDirLogged(dataDir: string, logger: Logger): void {
  const report = secureDataDir(dataDir);
  if (report.wasOpen !== undefined) {
    const mode = report.wasOpen.toString(8).padStart(4, '0');
    logger.warn({ dataDir, mode }, `the data directory was readable by others (mode ${mode}); it is now 0700 and every file in it owner-only`);
  }
  if (report.narrowed > 0) logger.info({ dataDir, narrowed: report.narrowed }, 'narrowed the modes of files in the data directory to owner-only');
}

/** The BlobStore at `blobs/`, with a pre-namespace `files/` directory migrated into it first. */
async function namespacedBlobStore(paths: DataPaths, state: StateStore, logger: Logger): Promise<DirectoryBlobStore> {
  const blobs = new DirectoryBlobStore(paths.blobs);
  const records = new StorageRecords(state);
  const isUpload = async (filename: string) => (await records.getFile(filename)) !== undefined;
  const report = await migrateLegacyBlobLayout({ legacyRoot: paths.files, root: paths.blobs, blobs, isUpload });
  if (report.movedUploads || report.movedQueueValues > 0) logger.info({ ...report, from: paths.files, to: paths.blobs }, 'moved stored files into the namespaced layout');
  return blobs;
}

function isLifecycle(value: object): value is Lifecycle {
  return 'start' in value || 'close' in value;
}

/** The StateStore the configuration selects (also used by `gantry keys`, which needs nothing else). */
export function buildStateStore(config: ServerConfig): StateStore {
  const consul = config.cluster.consul;
  if (consul) {
    return new ConsulStateStore(consulClientFrom(consul), consul.kvPrefix);
  }
  ensurePrivateDirSync(config.dataDir);
  return new SqliteStateStore(dataPaths(config.dataDir).state);
}

interface SecretStoreDeps {
  state: StateStore;
  clock: Clock;
  logger: Logger;
  secretsKey: string;
}

interface BuiltSecrets {
  secrets: SecretStore;
  /** Where cluster jobs read their secret environment (Vault only). */
  workloadSecrets: WorkloadSecrets | undefined;
  lifecycle: Lifecycle[];
}

/** Vault KV v2 when VAULT_ADDR is set (logged in before the server starts), else sealed rows in the StateStore. */
async function buildSecretStore(config: ServerConfig, deps: SecretStoreDeps): Promise<BuiltSecrets> {
  if (config.cluster.vault) return buildVaultSecrets(config.cluster.vault, deps);
  const secrets = new LocalSecretStore(deps.state, loadOrCreateKeyFile(deps.secretsKey), deps.clock);
  return { secrets, workloadSecrets: undefined, lifecycle: [] };
}


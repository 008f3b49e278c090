import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { KeyService } from './auth/key-service.js';
import { ensureProject } from './auth/project.js';
import { DirectoryBlobStore } from './blobs/directory/directory-blob-store.js';
import type { ServerConfig } from './config/schema.js';
import { LocalSecretStore } from './secrets/local/local-secret-store.js';
import type { ServerDeps } from './server.js';
import { systemClock, type Clock } from './shared/clock.js';
import { loadOrCreateKeyFile } from './shared/key-file.js';
import { createLogger, type Logger } from './shared/logger.js';
import { SqliteStateStore } from './state/sqlite/sqlite-store.js';
import type { StateStore } from './state/state-store.js';
import { StorageService } from './storage/storage-service.js';

export interface BuildDepsOptions {
  logger?: Logger;
  clock?: Clock;
  tls?: ServerDeps['tls'];
}

/** Where the embedded default keeps each thing under `GANTRY_DATA_DIR`. */
export interface DataPaths {
  state: string;
  secretsKey: string;
  signingKey: string;
  files: string;
  multipart: string;
  tls: string;
  adminKey: string;
}

export function dataPaths(dataDir: string): DataPaths {
  return {
    state: path.join(dataDir, 'state.db'),
    secretsKey: path.join(dataDir, 'secrets.key'),
    signingKey: path.join(dataDir, 'signing.key'),
    files: path.join(dataDir, 'files'),
    multipart: path.join(dataDir, 'multipart'),
    tls: path.join(dataDir, 'tls'),
    adminKey: path.join(dataDir, 'admin-key'),
  };
}

/**
 * Picks an implementation per seam. Only the embedded implementations exist so far; a cluster address in
 * the configuration is reported, not silently honoured.
 */
export async function buildDeps(config: ServerConfig, options: BuildDepsOptions = {}): Promise<ServerDeps> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  warnAboutClusterSettings(config, logger);
  const paths = dataPaths(config.dataDir);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const state = buildStateStore(config);
  const blobs = new DirectoryBlobStore(paths.files);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  return {
    config,
    logger,
    clock,
    state,
    keys: new KeyService(state, clock),
    secrets: new LocalSecretStore(state, loadOrCreateKeyFile(paths.secretsKey), clock),
    blobs,
    storage: new StorageService({
      state,
      blobs,
      staging: new DirectoryBlobStore(paths.multipart),
      signingKey: loadOrCreateKeyFile(paths.signingKey),
      clock,
      ttlSeconds: config.signedUrlTtlSeconds,
      maxUploadBytes: config.maxUploadBytes,
    }),
    project: await ensureProject(state, config.projectName, clock),
    metrics,
    tls: options.tls,
  };
}

/** The StateStore the configuration selects (also used by `gantry keys`, which needs nothing else). */
export function buildStateStore(config: ServerConfig): StateStore {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  return new SqliteStateStore(dataPaths(config.dataDir).state);
}

function warnAboutClusterSettings(config: ServerConfig, logger: Logger): void {
  const set = Object.entries(config.cluster).filter(([, addr]) => addr !== undefined);
  for (const [name] of set) {
    logger.warn({ setting: name }, 'cluster backend configured but not available in this build; using the embedded one');
  }
}

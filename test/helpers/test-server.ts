import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { loadConfig } from '../../src/config/load.js';
import { buildDeps } from '../../src/deps.js';
import { buildServer, type ServerDeps } from '../../src/server.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import type { Clock } from '../../src/shared/clock.js';
import { MemoryScheduler } from '../doubles/memory-scheduler.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';

export interface TestServer {
  app: FastifyInstance;
  deps: ServerDeps;
  dataDir: string;
  /** A freshly created admin key. */
  adminKey: string;
  /** `Authorization` header for the admin key. */
  auth: { authorization: string };
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Extra environment (GANTRY_* settings) on top of a temporary data dir. */
  env?: Record<string, string>;
  /** Reuse a data dir (to test restarts); a fresh temporary one otherwise. */
  dataDir?: string;
  clock?: Clock;
  tls?: ServerDeps['tls'];
  /** The server's logger, to capture log output (default: a silent one). */
  logger?: Logger;
  /** The scheduler (default: an in-memory MemoryScheduler whose replicas are ready at once). */
  scheduler?: Scheduler;
  /** Told of every route the server's plugins register (Fastify's `onRoute`), to enumerate them. */
  onRoute?: (route: RouteOptions) => void;
}

/** Builds a real embedded-default server over a temporary data dir, for `app.inject()` tests. */
export async function createTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'gantry-test-'));
  const config = loadConfig({ env: { GANTRY_DATA_DIR: dataDir, GANTRY_INSECURE_HTTP: '1', ...options.env } });
  const deps = await buildDeps(config, {
    logger: options.logger ?? createLogger({ level: 'silent' }),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    scheduler: options.scheduler ?? new MemoryScheduler(),
  });
  deps.publicUrl.listening('https://gantry.test');
  const { key } = await deps.keys.createKey('test-admin', 'admin');
  const app = buildServer(deps);
  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  await app.ready();
  for (const part of deps.lifecycle) await part.start?.();
  // As main does once it listens: a cluster replica campaigns (the embedded default already leads).
  await deps.leadership.start();
  return {
    app,
    deps,
    dataDir,
    adminKey: key,
    auth: { authorization: `Bearer ${key}` },
    close: async () => {
      await app.close();
      await deps.leadership.close();
      for (const part of [...deps.lifecycle].reverse()) await part.close?.();
      await deps.state.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A clock tests move by hand. */
export class FakeClock implements Clock {
  constructor(private ms = Date.parse('2026-01-01T00:00:00Z')) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { WorkerApi } from './api-client.js';
import { isPredictTimeoutError } from './errors.js';
import { createWorkerServer } from './http-server.js';
import type { Logger } from './log.js';
import { FATAL_ERROR, removeMarkers, SHUTDOWN_NOW, SHUTDOWN_REQUESTED, touchMarker } from './markers.js';
import type { ResolvedOptions } from './options.js';
import { handleJob, INPUTS_DIR, type PipelineDeps } from './pipeline.js';
import { assertInfo } from './progress.js';
import { runQueueLoop, type QueueLoopDeps } from './queue-loop.js';
import type { Sprocket } from './sprocket.js';
import type { JsonObject, WorkerState } from './types.js';
import { runWarmup } from './warmup.js';

/**
 * One worker process's life (compat.md §3.2, §3.6, §3.8):
 *
 *   starting ── setup + warmup ──► ready ── SIGTERM ──► stopping ── job done, shutdown() ──► stopped
 *   (/health 503)                 (/health 200,        (/health 503, no claims,
 *                                  claims in --queue)    the running job finishes)
 *
 * The HTTP server listens from the start, so probes get 503 rather than a refused connection while
 * setup runs.
 */
export class Runner {
  state: WorkerState = 'starting';
  /** The queue loop stopped on an unexpected error: /health answers 503 for good, so the worker is replaced. */
  private queueStopped = false;
  private busy = false;
  private stopAsked = false;
  private idle: (() => void) | undefined;
  private stopRequested!: () => void;
  private readonly stopSignal = new Promise<void>((resolve) => (this.stopRequested = resolve));
  private readonly api: WorkerApi;
  private readonly pipeline: PipelineDeps;

  constructor(
    private readonly worker: Sprocket,
    private readonly options: ResolvedOptions,
    private readonly log: Logger,
    /** The queue loop (a test may give one that fails, to see the worker turn unhealthy). */
    private readonly queueLoop: (deps: QueueLoopDeps) => Promise<void> = runQueueLoop,
  ) {
    this.api = new WorkerApi(options, log);
    this.pipeline = {
      worker,
      uploadFile: (id, file) => this.api.uploadFile(id, file),
      predictTimeoutMs: options.predictTimeoutMs,
      setBusy: (busy) => this.setBusy(busy),
      isBusy: () => this.busy,
    };
  }

  /** Runs the worker until SIGTERM (or RUN_AND_EXIT); resolves with the process exit status. */
  async run(): Promise<number> {
    removeMarkers();
    mkdirSync(INPUTS_DIR, { recursive: true });
    const onSignal = () => this.requestStop();
    process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
    const server = await this.listen();
    try {
      return await this.serve(server);
    } finally {
      process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
      await closeServer(server);
    }
  }

  /** SIGTERM: stop claiming, let the running job finish, then shut down. */
  requestStop(): void {
    if (!this.stopAsked) this.log.info('Shutdown requested');
    this.stopAsked = true;
    if (this.state === 'ready') this.state = 'stopping';
    touchMarker(SHUTDOWN_REQUESTED);
    this.stopRequested();
  }

  private async serve(server: Server): Promise<number> {
    await this.worker.setup();
    console.log(`===cold start time===: ${process.uptime().toFixed(2)}s`);
    await runWarmup(this.worker, this.options.runAndExit);
    if (this.options.runAndExit > 0) return this.finish(0);
    if (this.stopping()) return this.stop(undefined);
    this.state = 'ready';
    this.log.info(this.options.queue ? 'Starting in queue mode with HTTP server' : 'Starting HTTP server only');
    this.log.info(`Listening on port ${portOf(server)}`);
    const queue = this.options.queue ? this.startQueue() : undefined;
    await this.stopSignal;
    return this.stop(queue);
  }

  private startQueue(): Promise<void> {
    return this.queueLoop({
      api: this.api,
      pipeline: this.pipeline,
      heartbeatMs: this.options.heartbeatMs,
      infoIntervalMs: this.options.infoIntervalMs,
      statusRetryMs: this.options.statusRetryMs,
      log: this.log,
      stopping: () => this.stopping(),
      onFatal: () => this.fatal(),
    }).catch((err: unknown) => {
      this.queueStopped = true;
      this.log.error('queue worker stopped: /health answers 503 from now on, so the worker is replaced', err);
    });
  }

  private async stop(queue: Promise<void> | undefined): Promise<number> {
    this.state = 'stopping';
    await queue;
    await this.whenIdle();
    await this.worker.shutdown();
    return this.finish(0);
  }

  private finish(code: number): number {
    touchMarker(SHUTDOWN_NOW);
    this.state = 'stopped';
    return code;
  }

  private async listen(): Promise<Server> {
    const server = createWorkerServer({
      predictPath: this.options.predictPath,
      isHealthy: () => this.state === 'ready' && !this.queueStopped,
      isBusy: () => this.busy,
      runDirect: (payload, controller) => this.runDirect(payload, controller),
      log: this.log,
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, '0.0.0.0', () => resolve());
    });
    return server;
  }

  private async runDirect(payload: unknown, controller: AbortController): Promise<JsonObject> {
    const job = { requestId: randomUUID(), payload, mode: 'http' as const, controller, emitInfo: (info: JsonObject) => assertInfo(info) };
    try {
      return await handleJob(this.pipeline, job);
    } catch (err) {
      if (isPredictTimeoutError(err)) this.fatal();
      throw err;
    }
  }

  private stopping(): boolean {
    return this.stopAsked;
  }

  /**
   * A predict timed out, or a job's result could not be delivered: the process must be restarted (the
   * platform restarts a worker on any exit).
   */
  private fatal(): void {
    touchMarker(FATAL_ERROR);
    this.requestStop();
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    if (!busy) this.idle?.();
  }

  private whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => (this.idle = resolve));
  }
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** How long answers still being written get before the remaining connections are cut. */
const CLOSE_GRACE_MS = 1_000;

/** Stops listening; idle keep-alive connections close at once, busy ones get CLOSE_GRACE_MS to finish. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
  });
}

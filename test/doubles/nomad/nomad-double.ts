import Fastify, { type FastifyInstance } from 'fastify';
import type { Allocation, JobRegisterRequest, TaskEvent } from '../../../src/clients/nomad/types.js';
import { Cluster, isTerminal } from './cluster.js';
import { checkToken, NomadHttpError } from './http.js';
import type { DoubleNode } from './placement.js';
import { allocRoutes } from './routes-allocs.js';
import { jobRoutes } from './routes-jobs.js';
import { logRoutes } from './routes-logs.js';

export interface NomadDoubleOptions {
  /** Require this token in `X-Nomad-Token` (default: ACLs off). */
  token?: string;
  /** Start placed allocations by themselves (default: true); false leaves them pending for the test. */
  autoRun?: boolean;
  /** A line each allocation prints on stdout when it starts (default: "worker started on port 8000"). */
  startLine?: string;
  /** Client nodes (default: one node with eight H100 80GB). */
  nodes?: DoubleNode[];
  /** Whether the servers have Vault enabled (default: true). */
  vaultEnabled?: boolean;
  /** The agent's `client.max_kill_timeout` (default: "30s", Nomad's). */
  maxKillTimeout?: string;
  /** Idle heartbeat interval of followed logs in ms (default: 1000, Nomad's). */
  heartbeatMs?: number;
  /** Stopped running allocations keep running until `finishStop` (default: false, they end at once). */
  gracefulStops?: boolean;
}

export const H100_NODE: DoubleNode = {
  id: '5a1e7a06-0000-4000-8000-000000000001',
  name: 'gpu-1',
  address: '10.0.0.11',
  devices: [{ name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, count: 8 }],
};

/**
 * A Nomad HTTP API double (a Fastify app on port 0) with the endpoints Gantry uses, Nomad's indexes,
 * blocking queries, EnforceIndex conflicts, plain-text errors and validation, and allocations the test
 * moves through pending → running → complete/failed.
 */
export class NomadDouble {
  readonly cluster: Cluster;
  /** Every register request body received (tests scan them for secrets). */
  readonly registered: JobRegisterRequest[] = [];
  private app: FastifyInstance | undefined;
  url = '';

  constructor(private readonly options: NomadDoubleOptions = {}) {
    this.cluster = new Cluster(options.nodes ?? [H100_NODE]);
    this.cluster.gracefulStops = options.gracefulStops ?? false;
    if (options.autoRun ?? true) this.cluster.onPlaced = (a) => setImmediate(() => this.runIfPending(a.ID));
  }

  async start(): Promise<string> {
    const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
    app.addHook('onRequest', async (request) => checkToken(request, this.options.token));
    app.setErrorHandler((err: Error, _request, reply) => {
      const status = err instanceof NomadHttpError ? err.status : ((err as { statusCode?: number }).statusCode ?? 500);
      void reply.code(status).type('text/plain').send(err.message);
    });
    const { cluster } = this;
    await app.register(jobRoutes, { cluster, registered: this.registered as unknown[], vaultEnabled: this.options.vaultEnabled ?? true });
    await app.register(allocRoutes, { cluster, maxKillTimeout: this.options.maxKillTimeout ?? '30s' });
    await app.register(logRoutes, { cluster, heartbeatMs: this.options.heartbeatMs ?? 1000 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    this.app = app;
    return this.url;
  }

  async close(): Promise<void> {
    await this.app?.close();
  }

  /** A job's allocations, oldest first. */
  allocations(jobId: string, namespace = 'default'): Allocation[] {
    return this.cluster.jobAllocs(namespace, jobId).sort((a, b) => a.CreateIndex - b.CreateIndex);
  }

  /** The allocations that should be running (desired `run`, not terminal). */
  live(jobId: string, namespace = 'default'): Allocation[] {
    return this.allocations(jobId, namespace).filter((a) => !isTerminal(a));
  }

  private alloc(id: string): Allocation {
    const a = this.cluster.allocs.get(id);
    if (!a) throw new Error(`no allocation ${id}`);
    return a;
  }

  private event(type: string, details: Record<string, string> = {}, message = ''): TaskEvent {
    return { Type: type, Time: Date.now() * 1e6, DisplayMessage: message, Details: details };
  }

  private runIfPending(id: string): void {
    const a = this.cluster.allocs.get(id);
    if (a && a.ClientStatus === 'pending' && a.DesiredStatus === 'run') this.run(id);
  }

  /** pending → running: the task starts, prints its start line, and the allocation turns healthy. */
  run(id: string): void {
    const a = this.alloc(id);
    const now = new Date().toISOString();
    const events = [this.event('Received'), this.event('Task Setup'), this.event('Driver'), this.event('Started')];
    const task = a.Job!.TaskGroups[0]!.Tasks[0]!.Name;
    const state = this.cluster.taskState('running', events, { StartedAt: now });
    const healthy = a.Job!.TaskGroups[0]!.Update ? { DeploymentStatus: { Healthy: true, Timestamp: now } } : {};
    this.cluster.updateAlloc(a, { ClientStatus: 'running', TaskStates: { [task]: state }, ...healthy });
    this.log(id, 'stdout', `${this.options.startLine ?? 'worker started on port 8000'}\n`);
  }

  /** The task exits and Nomad restarts it in place (one restart more). */
  restart(id: string, exitCode = 1): void {
    const a = this.alloc(id);
    const [task, state] = Object.entries(a.TaskStates ?? {})[0]!;
    const events = [...state.Events, this.event('Terminated', { exit_code: String(exitCode) }), this.event('Restarting', { restart_reason: 'Restart within policy' }), this.event('Started')];
    const next = { ...state, Restarts: state.Restarts + 1, LastRestart: new Date().toISOString(), Events: events };
    this.cluster.updateAlloc(a, { TaskStates: { [task]: next } });
  }

  /** The task exits and is not restarted: the allocation fails (and is not replaced by the double). */
  fail(id: string, exitCode = 1): void {
    const a = this.alloc(id);
    const [task, state] = Object.entries(a.TaskStates ?? { worker: this.cluster.taskState('pending', []) })[0]!;
    const events = [...state.Events, this.event('Terminated', { exit_code: String(exitCode) }), this.event('Not Restarting', { fails_task: 'true' })];
    const next = { ...state, State: 'dead' as const, Failed: true, FinishedAt: new Date().toISOString(), Events: events };
    this.cluster.updateAlloc(a, { ClientStatus: 'failed', TaskStates: { [task]: next } });
  }

  /** The task exits 0 on its own: the allocation completes (as a worker that ran RUN_AND_EXIT does). */
  complete(id: string): void {
    const a = this.alloc(id);
    const [task, state] = Object.entries(a.TaskStates ?? { worker: this.cluster.taskState('pending', []) })[0]!;
    const events = [...state.Events, this.event('Terminated', { exit_code: '0' })];
    this.cluster.updateAlloc(a, { ClientStatus: 'complete', TaskStates: { [task]: { ...state, State: 'dead', FinishedAt: new Date().toISOString(), Events: events } } });
  }

  /** A stopped allocation's task exits (with `gracefulStops`): the allocation completes. */
  finishStop(id: string): void {
    const a = this.alloc(id);
    if (a.DesiredStatus === 'run') throw new Error(`allocation ${id} was not asked to stop`);
    this.cluster.finishStop(a);
  }

  /** Appends to an allocation's stdout or stderr. */
  log(id: string, stream: 'stdout' | 'stderr', text: string): void {
    const logs = this.cluster.logs.get(id)!;
    logs[stream] = Buffer.concat([logs[stream], Buffer.from(text)]);
    this.cluster.bump();
  }
}

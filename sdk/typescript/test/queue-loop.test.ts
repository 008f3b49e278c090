import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { emitInfo, Sprocket, type JsonObject, type PredictContext } from '../src/index.js';
import { runQueueJob, runQueueLoop, type QueueLoopDeps } from '../src/queue-loop.js';
import { FakeWorkerApi, recordingLogger } from './doubles/fake-worker-api.js';

/** A worker whose predict is given by the test. */
class FnWorker extends Sprocket {
  constructor(private readonly fn: (args: JsonObject, ctx: PredictContext) => Promise<JsonObject>) {
    super();
  }

  predict(args: JsonObject, ctx: PredictContext): Promise<JsonObject> {
    return this.fn(args, ctx);
  }
}

function loopDeps(fn: (args: JsonObject, ctx: PredictContext) => Promise<JsonObject>, overrides: Partial<QueueLoopDeps> = {}) {
  const api = new FakeWorkerApi();
  const log = recordingLogger();
  let fatal = 0;
  let busy = false;
  const deps: QueueLoopDeps = {
    api,
    pipeline: { worker: new FnWorker(fn), uploadFile: async () => 'unused', predictTimeoutMs: 10_000, setBusy: (b) => (busy = b), isBusy: () => busy },
    heartbeatMs: 30,
    infoIntervalMs: 20,
    statusRetryMs: 180_000,
    log,
    stopping: () => false,
    onFatal: () => fatal++,
    ...overrides,
  };
  return { deps, api, log, fatal: () => fatal, busy: () => busy };
}

describe('runQueueJob', () => {
  it('reports done with the outputs, after the info emitted during the job', async () => {
    const { deps, api } = loopDeps(async (args) => {
      emitInfo({ progress: 0.5 });
      return { doubled: Number(args.n) * 2 };
    });
    await runQueueJob(deps, { request_id: 'r1', payload: { n: 21 } });
    expect(api.updates.filter((u) => u.info)).toEqual([expect.objectContaining({ requestId: 'r1', status: 'running', payload: {}, info: { progress: 0.5 } })]);
    expect(api.updates.at(-1)).toEqual({ requestId: 'r1', status: 'done', payload: { doubled: 42 }, info: undefined });
  });

  it('reports failed with info.error naming the error, and a payload that is not an object fails too', async () => {
    const { deps, api } = loopDeps(async () => {
      throw new RangeError('n is too big');
    });
    await runQueueJob(deps, { request_id: 'r1', payload: {} });
    await runQueueJob(deps, { request_id: 'r2', payload: [1, 2] });
    expect(api.final('r1')).toMatchObject({ status: 'failed', payload: {}, info: { error: 'RangeError: n is too big' } });
    expect(api.final('r2')?.info?.error).toBe('TypeError: payload must be a JSON object, got an array');
  });

  it('aborts the signal when a heartbeat is refused (job canceled or claim lost) and reports nothing', async () => {
    const { deps, api, log } = loopDeps(
      (_args, ctx) =>
        new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve({ reason: (ctx.signal.reason as Error).name }), { once: true })),
    );
    api.runningAnswer = { code: 'GANTRY_ERR_JOB_NOT_HELD', message: 'its claim was lost' };
    await runQueueJob(deps, { request_id: 'r1', payload: {} });
    expect(api.final('r1')).toBeUndefined();
    expect(log.lines.join('\n')).toMatch(/Job r1 stopped: the server stopped job r1: its claim was lost; not reporting it/);
  });

  it('waits for a running direct job before it starts the claimed one (one job at a time)', async () => {
    const started: number[] = [];
    const { deps, api } = loopDeps(async () => {
      started.push(Date.now());
      return {};
    });
    deps.pipeline.setBusy(true);
    const freedAt = Date.now() + 150;
    setTimeout(() => deps.pipeline.setBusy(false), 150);
    await runQueueJob(deps, { request_id: 'r1', payload: {} });
    expect(started[0]).toBeGreaterThanOrEqual(freedAt - 5);
    expect(api.final('r1')?.status).toBe('done');
  });

  it('cuts a long error message so the failed update stays under the info limit', async () => {
    const { deps, api } = loopDeps(async (args) => {
      throw new Error(String(args.char).repeat(10_000));
    });
    await runQueueJob(deps, { request_id: 'r1', payload: { char: 'x' } });
    await runQueueJob(deps, { request_id: 'r2', payload: { char: '\u0001' } });
    await runQueueJob(deps, { request_id: 'r3', payload: { char: '😀' } });
    for (const id of ['r1', 'r2', 'r3']) {
      const error = String(api.final(id)?.info?.error);
      expect(error).toMatch(/^Error: .+…$/su);
      expect(Buffer.byteLength(JSON.stringify(error))).toBeLessThanOrEqual(2000);
      expect(error.length).toBeGreaterThan(200);
    }
  });

  it('fails a predict that outlives the timeout with a PredictTimeoutError and asks for a restart', async () => {
    const { deps, api, fatal, busy } = loopDeps(() => new Promise(() => {}));
    deps.pipeline.predictTimeoutMs = 100;
    await runQueueJob(deps, { request_id: 'r1', payload: {} });
    expect(api.final('r1')?.info?.error).toBe('PredictTimeoutError: Prediction took longer than 0.1s');
    expect(fatal()).toBe(1);
    expect(busy()).toBe(false);
  });
});

describe('runQueueLoop', () => {
  it('logs a failed retrieve and keeps polling, then runs the job it gets, until stopping', async () => {
    let stop = false;
    const { deps, api, log } = loopDeps(async () => ({ ok: true }), { stopping: () => stop });
    api.retrieves.push(new Error('retrieve answered HTTP 502: bad gateway'), undefined, { request_id: 'r1', payload: {} });
    const loop = runQueueLoop(deps);
    while (!api.final('r1')) await sleep(20);
    stop = true;
    await loop;
    expect(api.final('r1')).toMatchObject({ status: 'done', payload: { ok: true } });
    expect(log.lines.some((l) => l.startsWith('WARNING test: error retrieving a job: retrieve answered HTTP 502'))).toBe(true);
    expect(api.retrieveCalls).toBeGreaterThanOrEqual(3);
  });
});

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test/helpers/server-process.js';
import { StandInGantry } from './doubles/stand-in-gantry.js';
import { SDK_ROOT, startWorker, untilListening, type WorkerProcess } from './helpers/worker-process.js';

/**
 * A bad job never stops the queue loop (issue 15 item 4): whatever goes wrong with one job, from a body
 * too deep or too broken to decode to outputs that are not JSON, fails that job with `info.error` saying
 * why, and the worker goes on to the next one. A loop that stops anyway turns /health 503.
 */
describe('a worker given bad jobs', { timeout: 60_000 }, () => {
  let gantry: StandInGantry;
  let worker: WorkerProcess | undefined;

  afterEach(async () => {
    worker?.child.kill('SIGKILL');
    worker = undefined;
    await gantry?.stop();
  });

  async function start(file?: string): Promise<WorkerProcess> {
    gantry = await new StandInGantry().listen();
    const env = { TOGETHER_API_BASE_URL: gantry.base, TOGETHER_DEPLOYMENT_NAME: 'm', GANTRY_SPROCKET_HEARTBEAT_SECONDS: '0.5' };
    worker = await startWorker({ env, ...(file ? { file } : {}) });
    await untilListening(worker);
    await until('the worker to be healthy', async () => ((await fetch(`${worker!.url}/health`)).status === 200 ? true : undefined), 30_000, 100);
    return worker;
  }

  const terminal = (id: string) =>
    until(`job ${id} to end`, async () => gantry.terminals(id)[0], 20_000, 50, () => `\n${worker?.output()}`);

  async function failedWith(id: string): Promise<string> {
    const final = await terminal(id);
    expect(final).toMatchObject({ status: 'failed', payload: {} });
    return String(final.info?.error);
  }

  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const rawJob = (id: string, payloadJson: string) => `{"data": {"request_id": "${id}", "model": "m", "payload": ${payloadJson}, "info": {}}}`;

  it('runs a payload nested 1,000 levels deep, and fails one nested 100,000 deep whose echo is not JSON, then goes on', async () => {
    await start();
    gantry.submitRaw(rawJob('deep-1000', `{"x": ${nested(1000)}}`));
    gantry.submitRaw(rawJob('deep-100000', `{"x": ${nested(100_000)}}`));
    gantry.submit('next', { n: 1 });
    const done = await terminal('deep-1000');
    expect(done.status).toBe('done');
    expect(JSON.stringify(done.payload.echo)).toBe(`{"x":${nested(1000)}}`);
    expect(await failedWith('deep-100000')).toMatch(/^TypeError: predict returned outputs that are not JSON: Maximum call stack size exceeded/);
    expect((await terminal('next')).payload).toMatchObject({ echo: { n: 1 } });
  });

  it('fails a job whose body cannot be decoded, naming the parse error, then goes on', async () => {
    await start();
    gantry.submitRaw('{"data": {"request_id": "broken\\u0021", "payload": {"a": [1, 2,, 3]}}}');
    gantry.submit('next', { n: 2 });
    expect(await failedWith('broken!')).toMatch(/^UndecodableJobError: the job could not be decoded: SyntaxError: /);
    expect((await terminal('next')).payload).toMatchObject({ echo: { n: 2 } });
  });

  it('fails a predict that overflows the stack, outputs that are not JSON and a thrown value with no text, each alone', async () => {
    await start();
    gantry.submit('recurse', { do: 'recurse' });
    gantry.submit('bigint', { do: 'bigint' });
    gantry.submit('opaque', { do: 'throw-opaque' });
    gantry.submit('next', { n: 3 });
    expect(await failedWith('recurse')).toBe('RangeError: Maximum call stack size exceeded');
    expect(await failedWith('bigint')).toMatch(/^TypeError: predict returned outputs that are not JSON: .*BigInt/);
    expect(await failedWith('opaque')).toBe('Error: (a thrown value that cannot be shown as text)');
    expect((await terminal('next')).payload).toMatchObject({ echo: { n: 3 } });
    for (const id of ['recurse', 'bigint', 'opaque', 'next']) expect(gantry.terminals(id)).toHaveLength(1);
  });

  it('answers /health 503 once its queue loop has stopped, and claims nothing more', async () => {
    const w = await start(path.join(SDK_ROOT, 'test/fixtures/breaking-loop-worker.ts'));
    gantry.submit('before', { n: 4 });
    expect((await terminal('before')).status).toBe('done');
    writeFileSync(path.join(w.cwd, 'break-loop'), '');
    await until('health to turn 503', async () => ((await fetch(`${w.url}/health`)).status === 503 ? true : undefined), 15_000, 100);
    expect(await (await fetch(`${w.url}/health`)).json()).toEqual({ status: 'unhealthy' });
    const retrieves = gantry.retrieves;
    gantry.submit('after', { n: 5 });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(gantry.retrieves).toBe(retrieves);
    expect(gantry.jobs).toHaveLength(1);
    expect(w.child.exitCode).toBeNull();
    expect(w.output()).toMatch(/queue worker stopped: \/health answers 503 from now on[^]*the queue loop broke/);
  });
});

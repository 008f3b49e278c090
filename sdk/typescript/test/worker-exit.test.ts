import { describe, expect, it } from 'vitest';
import { startWorker, untilListening } from './helpers/worker-process.js';

/** How the worker process starts and ends without a server: argument errors, a missing name, RUN_AND_EXIT. */
describe('the worker process', { timeout: 60_000 }, () => {
  it('exits 2 with the usage for an unknown argument', async () => {
    const worker = await startWorker({ args: ['--bogus'], env: { TOGETHER_DEPLOYMENT_NAME: 'm' } });
    expect(await worker.exited).toBe(2);
    expect(worker.output()).toMatch(/usage: <worker> \[--queue\] \[--port PORT\]/);
  });

  it('exits 1 saying how to name the deployment when no name is given', async () => {
    const env: Record<string, string> = { TOGETHER_DEPLOYMENT_NAME: '' };
    const worker = await startWorker({ args: [], env });
    expect(await worker.exited).toBe(1);
    expect(worker.output()).toMatch(/No deployment name found/);
  });

  it('on SIGTERM during a direct /generate request, answers it, then exits 0', async () => {
    const worker = await startWorker({ args: [], env: { TOGETHER_DEPLOYMENT_NAME: 'm' } });
    await untilListening(worker);
    while ((await fetch(`${worker.url}/health`)).status !== 200) await new Promise((r) => setTimeout(r, 50));
    const answer = fetch(`${worker.url}/generate`, { method: 'POST', body: JSON.stringify({ do: 'sleep', ms: 1500 }) });
    while ((await (await fetch(`${worker.url}/metrics`)).text()) !== 'requests_inflight 1.0') await new Promise((r) => setTimeout(r, 20));
    worker.child.kill('SIGTERM');
    const res = await answer;
    expect([res.status, await res.json()]).toEqual([200, { slept: 1500 }]);
    expect(await worker.exited).toBe(0);
  });

  it('with RUN_AND_EXIT=2 runs predict twice after setup, prints the timings and exits 0', async () => {
    const worker = await startWorker({ args: [], env: { TOGETHER_DEPLOYMENT_NAME: 'm', RUN_AND_EXIT: '2' } });
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toMatch(/===cold start time===: \d+\.\d\ds/);
    expect(worker.output()).toMatch(/===predict times===: \[\d+(\.\d+)?, \d+(\.\d+)?\]/);
  });
});

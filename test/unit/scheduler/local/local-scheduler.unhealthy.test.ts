import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UnhealthyWatch } from '../../../../src/scheduler/local/health.js';
import { cleanupTestSchedulers, createTestScheduler, replicaPid, waitFor, waitForReady, workerSpec } from '../../../contracts/scheduler-support.js';

describe('UnhealthyWatch', () => {
  it.each([
    { name: 'a ready replica answering 503 past the limit', wasReady: true, checks: [['unhealthy', 0], ['unhealthy', 500]], replace: true },
    { name: 'one 503 short of the limit', wasReady: true, checks: [['unhealthy', 0], ['unhealthy', 499]], replace: false },
    { name: 'a 200 in between starts the count again', wasReady: true, checks: [['unhealthy', 0], ['ok', 300], ['unhealthy', 400], ['unhealthy', 800]], replace: false },
    { name: 'a replica never ready yet (still in setup)', wasReady: false, checks: [['unhealthy', 0], ['unhealthy', 5000]], replace: false },
    { name: 'ready first in this run, then 503', wasReady: false, checks: [['ok', 0], ['unhealthy', 100], ['unhealthy', 600]], replace: true },
    { name: 'timeouts (a busy synchronous worker)', wasReady: true, checks: [['busy', 0], ['busy', 5000]], replace: false },
    { name: 'refused connections (a process ending)', wasReady: true, checks: [['down', 0], ['down', 5000]], replace: false },
  ] as const)('$name: replace=$replace', ({ wasReady, checks, replace }) => {
    const watch = new UnhealthyWatch(500, wasReady);
    const answers = checks.map(([result, at]) => watch.observe(result, at));
    expect(answers.at(-1)).toBe(replace);
    expect(answers.slice(0, -1).every((a) => !a)).toBe(true);
  });

  it('says "replace" once', () => {
    const watch = new UnhealthyWatch(100, true);
    expect([0, 100, 200, 300].map((at) => watch.observe('unhealthy', at))).toEqual([false, true, false, false]);
  });
});

describe('LocalScheduler replaces a replica that stays unhealthy after it was ready', () => {
  afterEach(cleanupTestSchedulers);

  it('ends the process and restarts it, saying why in its log', async () => {
    const { scheduler, dataDir } = createTestScheduler({ unhealthyReplaceMs: 500 });
    const spec = workerSpec();
    await scheduler.apply(spec);
    const [replica] = await waitForReady(scheduler, spec.deploymentId, 1);
    const firstPid = await waitFor('a pid', () => replicaPid(dataDir, replica!.replicaId));
    const { host, port } = replica!.address!;
    await fetch(`http://${host}:${port}/sicken`);
    await waitFor('a restart', async () => (await scheduler.replicas(spec.deploymentId))[0]!.restarts >= 1, 15_000);
    const secondPid = await waitFor('a new pid', () => {
      const pid = replicaPid(dataDir, replica!.replicaId);
      return pid !== firstPid ? pid : undefined;
    });
    expect(secondPid).toBeDefined();
    await waitForReady(scheduler, spec.deploymentId, 1);
    const log = readFileSync(path.join(dataDir, 'replicas', replica!.replicaId, 'output.log'), 'utf8');
    expect(log).toContain('/health answered other than 200 for 1s after the replica was ready; replacing it');
  });

  it('keeps a busy replica whose check times out', async () => {
    const { scheduler } = createTestScheduler({ unhealthyReplaceMs: 300 });
    const spec = workerSpec();
    await scheduler.apply(spec);
    const [replica] = await waitForReady(scheduler, spec.deploymentId, 1);
    const { host, port } = replica!.address!;
    await fetch(`http://${host}:${port}/block?ms=1500`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await scheduler.replicas(spec.deploymentId))[0]!.restarts).toBe(0);
  });
});

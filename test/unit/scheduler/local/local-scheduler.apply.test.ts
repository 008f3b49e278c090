import { afterEach, describe, expect, it } from 'vitest';
import { UnsupportedSpecError, type ReplicaStatus } from '../../../../src/scheduler/scheduler.js';
import {
  cleanupTestSchedulers,
  createTestScheduler,
  getJson,
  HTTP_WORKER,
  waitForReady,
  waitForReason,
  waitForReplicas,
  workerSpec,
} from '../../../contracts/scheduler-support.js';

const crasherSource = { path: HTTP_WORKER, cmd: [process.execPath, 'crasher.mjs'], python: false, dependencies: [] };

describe('LocalScheduler apply', () => {
  afterEach(cleanupTestSchedulers);

  it('refuses a container image, pointing at the cluster mode', async () => {
    const { scheduler } = createTestScheduler();
    const spec = workerSpec({ source: undefined, image: 'registry.example/team/worker@sha256:abc' });
    const refused = scheduler.apply(spec);
    await expect(refused).rejects.toThrow(UnsupportedSpecError);
    await expect(refused).rejects.toThrow(/x_gantry_source.*NOMAD_ADDR.*registry\.example\/team\/worker@sha256:abc/);
  });

  it('refuses a project directory that does not exist', async () => {
    const { scheduler } = createTestScheduler();
    const source = { ...crasherSource, path: '/nonexistent/gantry/project' };
    await expect(scheduler.apply(workerSpec({ source }))).rejects.toThrow(/not a directory/);
  });

  it('reports a started replica Running with an address but not ready until its health check passes', async () => {
    const { scheduler } = createTestScheduler();
    const spec = workerSpec({ env: { HEALTH_DELAY_MS: '800' } });
    await scheduler.apply(spec);
    const [starting] = await waitForReplicas(scheduler, spec.deploymentId, 'an address', (replicas) => replicas[0]?.address);
    expect(starting).toMatchObject({ state: 'Running', readySince: undefined, restarts: 0 });
    expect(Date.parse(starting!.startedAt!)).not.toBeNaN();
    const [ready] = await waitForReady(scheduler, spec.deploymentId);
    expect(Date.parse(ready!.readySince!) - Date.parse(ready!.startedAt!)).toBeGreaterThanOrEqual(700);
  });

  it('keeps a ready replica ready, and running, while its health check times out (a busy synchronous worker)', async () => {
    const { scheduler } = createTestScheduler();
    const spec = workerSpec();
    await scheduler.apply(spec);
    const [ready] = await waitForReady(scheduler, spec.deploymentId);
    const blocking = getJson(ready!.address!.port, '/block?ms=1500'); // checks time out after 250 ms
    const during: ReplicaStatus[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 250));
      during.push((await scheduler.replicas(spec.deploymentId))[0]!);
    }
    await blocking;
    expect(during.every((r) => r.readySince === ready!.readySince && r.restarts === 0)).toBe(true);
  });

  it('makes a replica without a health path ready after a second alive', async () => {
    const { scheduler } = createTestScheduler();
    const spec = workerSpec({ healthCheckPath: undefined });
    await scheduler.apply(spec);
    const [ready] = await waitForReady(scheduler, spec.deploymentId);
    expect(Date.parse(ready!.readySince!) - Date.parse(ready!.startedAt!)).toBeGreaterThanOrEqual(1000);
  });

  it('keeps the old revision serving until the new one is ready', async () => {
    const { scheduler } = createTestScheduler();
    const spec = workerSpec();
    await scheduler.apply(spec);
    await waitForReady(scheduler, spec.deploymentId);
    await scheduler.apply({ ...spec, revisionId: 'rev-00000002', env: { HEALTH_DELAY_MS: '1500' } });
    const both = await waitForReplicas(scheduler, spec.deploymentId, 'both revisions', (replicas) =>
      replicas.length === 2 && replicas[1]?.address,
    );
    expect(both.map((r) => [r.revisionId, r.readySince !== undefined])).toEqual([
      ['rev-00000001', true],
      ['rev-00000002', false],
    ]);
    const [only] = await waitForReplicas(scheduler, spec.deploymentId, 'the old one gone', (replicas) => replicas.length === 1);
    expect(only).toMatchObject({ revisionId: 'rev-00000002' });
    expect(only!.readySince).toBeDefined();
  });

  it('stops the old revision when the new one cannot become ready, so both never run on', async () => {
    const { scheduler } = createTestScheduler();
    const spec = workerSpec();
    await scheduler.apply(spec);
    await waitForReady(scheduler, spec.deploymentId);
    await scheduler.apply({ ...spec, revisionId: 'rev-00000002', source: crasherSource });
    const [only] = await waitForReplicas(scheduler, spec.deploymentId, 'only the new revision', (replicas) =>
      replicas.length === 1 && replicas[0]!.revisionId === 'rev-00000002',
    );
    expect(only!.reason).toBe('CrashLoopBackOff');
  });

  it('says why a command that cannot run does not start', async () => {
    const { scheduler } = createTestScheduler();
    const source = { ...crasherSource, cmd: ['gantry-no-such-command-xyz'] };
    const spec = workerSpec({ source });
    await scheduler.apply(spec);
    const [replica] = await waitForReason(scheduler, spec.deploymentId, 'CreateContainerError');
    expect(replica).toMatchObject({ state: 'Waiting', address: undefined });
    expect(replica!.message).toMatch(/cannot run gantry-no-such-command-xyz: .*ENOENT/);
    const logs = [];
    for await (const batch of scheduler.logs(spec.deploymentId, {})) logs.push(...batch.map((l) => l.line));
    expect(logs.join('\n')).toContain('replica could not start');
  });
});

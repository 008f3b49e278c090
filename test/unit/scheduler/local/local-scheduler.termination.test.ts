import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupTestSchedulers,
  createTestScheduler,
  isAlive,
  replicaPid,
  waitFor,
  waitForReady,
  workerSpec,
} from '../../../contracts/scheduler-support.js';

describe('LocalScheduler termination', () => {
  afterEach(cleanupTestSchedulers);

  async function startOne(env: Record<string, string>) {
    const { scheduler, dataDir } = createTestScheduler();
    const spec = workerSpec({ env, terminationGracePeriodSeconds: 1 });
    await scheduler.apply(spec);
    const [replica] = await waitForReady(scheduler, spec.deploymentId);
    const pid = await waitFor('a pid', () => replicaPid(dataDir, replica!.replicaId));
    return { scheduler, spec, pid, log: path.join(dataDir, 'replicas', replica!.replicaId, 'output.log') };
  }

  it('sends SIGTERM, then SIGKILL once the grace period has passed', async () => {
    const { scheduler, spec, pid } = await startOne({ IGNORE_SIGTERM: '1' });
    const began = Date.now();
    await scheduler.stop(spec.deploymentId);
    const took = Date.now() - began;
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(4000);
    expect(isAlive(pid)).toBe(false);
    expect(await scheduler.replicas(spec.deploymentId)).toEqual([]);
  });

  it('does not wait out the grace period for a replica that ends on SIGTERM', async () => {
    const { scheduler, spec, pid } = await startOne({});
    const began = Date.now();
    await scheduler.stop(spec.deploymentId);
    expect(Date.now() - began).toBeLessThan(1000);
    expect(isAlive(pid)).toBe(false);
  });

  it('lets the replica see SIGTERM first', async () => {
    const { scheduler, spec, log } = await startOne({ IGNORE_SIGTERM: '1' });
    const stopping = scheduler.stop(spec.deploymentId);
    await waitFor('the SIGTERM line', () => readFileSync(log, 'utf8').includes('got SIGTERM'), 900);
    await stopping;
  });
});

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Sandbox } from '../../../../src/scheduler/local/sandbox.js';
import { UnsupportedSpecError, type VolumeMountSpec } from '../../../../src/scheduler/scheduler.js';
import {
  cleanupTestSchedulers,
  createTestScheduler,
  getJson,
  waitForReady,
  workerSpec,
} from '../../../contracts/scheduler-support.js';

// Skipped only where bubblewrap cannot work (not installed, or no namespaces allowed); the reason is printed.
const bwrapMissing = await new Sandbox({ mode: 'bwrap', dataDir: mkdtempSync(path.join(tmpdir(), 'gantry-probe-')) }).unavailableReason();
if (bwrapMissing) console.warn(`skipping the bubblewrap volume tests: ${bwrapMissing}`);

function volumeDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-volume-'));
  mkdirSync(path.join(dir, 'spices'));
  writeFileSync(path.join(dir, 'curry.txt'), 'cumin, coriander, turmeric\n');
  writeFileSync(path.join(dir, 'spices', 'salt.txt'), 'salt\n');
  return dir;
}

describe('LocalScheduler volumes', () => {
  const made: string[] = [];
  afterEach(async () => {
    await cleanupTestSchedulers();
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  describe.skipIf(bwrapMissing !== undefined)('with bubblewrap', () => {
    it('shows a volume read-only at its mount path and never creates the mount point on the host', async () => {
      const hostPath = volumeDir();
      made.push(hostPath);
      // /opt exists on the host, so the planner must bind its children one by one.
      const parent = `/opt/gantry-test-${randomUUID().slice(0, 8)}`;
      const mountPath = `${parent}/pantry`;
      const volumes: VolumeMountSpec[] = [{ name: 'pantry', mountPath, version: 0, hostPath }];
      const { scheduler } = createTestScheduler();
      const spec = workerSpec({ volumes });
      await scheduler.apply(spec);
      const [replica] = await waitForReady(scheduler, spec.deploymentId);
      const port = replica!.address!.port;
      expect(await getJson(port, `/read?path=${mountPath}/curry.txt`)).toEqual({ content: 'cumin, coriander, turmeric\n' });
      expect(await getJson(port, `/read?path=${mountPath}/spices/salt.txt`)).toEqual({ content: 'salt\n' });
      expect(await getJson(port, `/write?path=${mountPath}/new.txt`)).toEqual({ error: 'EROFS' });
      expect(replica!.volumePreload).toMatchObject({ status: 'Completed' });
      expect(Date.parse(replica!.volumePreload!.completedAt!)).toBeGreaterThanOrEqual(Date.parse(replica!.volumePreload!.startedAt!));
      expect(existsSync(parent)).toBe(false);
      expect(existsSync(path.join(hostPath, 'new.txt'))).toBe(false);
    });

    it('refuses a volume whose files are missing', async () => {
      const { scheduler } = createTestScheduler();
      const volumes = [{ name: 'gone', mountPath: '/pantry', version: 2, hostPath: '/nonexistent/gantry/volume' }];
      await expect(scheduler.apply(workerSpec({ volumes }))).rejects.toThrow(/has no files at/);
    });

    it('refuses a mount path inside /proc', async () => {
      const hostPath = volumeDir();
      made.push(hostPath);
      const { scheduler } = createTestScheduler();
      const volumes = [{ name: 'p', mountPath: '/proc/pantry', version: 0, hostPath }];
      await expect(scheduler.apply(workerSpec({ volumes }))).rejects.toThrow(UnsupportedSpecError);
    });
  });

  it('refuses volumes without bubblewrap, saying how to get it, and starts nothing', async () => {
    const hostPath = volumeDir();
    made.push(hostPath);
    const { scheduler } = createTestScheduler({ sandbox: 'none' });
    const spec = workerSpec({ volumes: [{ name: 'pantry', mountPath: '/pantry', version: 0, hostPath }] });
    const refused = scheduler.apply(spec);
    await expect(refused).rejects.toThrow(UnsupportedSpecError);
    await expect(refused).rejects.toThrow(/apt-get install bubblewrap/);
    expect(await scheduler.replicas(spec.deploymentId)).toEqual([]);
  });
});

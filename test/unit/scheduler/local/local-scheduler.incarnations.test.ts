import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobSpec } from '../../../../src/scheduler/scheduler.js';
import { cleanupTestSchedulers, createTestScheduler, isAlive, replicaPid, waitFor, waitForReady, workerSpec } from '../../../contracts/scheduler-support.js';
import { exited, spawnTs } from '../../../helpers/spawn-ts.js';

/**
 * The local scheduler's incarnations (Scheduler.incarnations): one per start of a replica's process,
 * kept in its state file, so a replica adopted by a restarted server keeps it, and a replica started
 * again under the same name (a crash, a clean stop and start) gets a new one.
 */

/** Runs a real server process (run-scheduler.ts) that applies `spec`, and kills it with SIGKILL once ready. */
async function applyThenKillServer(dataDir: string, spec: JobSpec): Promise<void> {
  const server = spawnTs('test/fixtures/replicas/run-scheduler.ts', [dataDir, JSON.stringify(spec)]);
  let output = '';
  server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await waitFor(`the server to report ready (output: ${output})`, () => output.includes('ready'), 20_000);
  } finally {
    server.kill('SIGKILL');
    await exited(server);
  }
}

describe('LocalScheduler incarnations', () => {
  afterEach(cleanupTestSchedulers);

  it('gives replicas stopped and started again under the same names new incarnations', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-incarnation-'));
    const spec = workerSpec({ replicas: 2 });
    await applyThenKillServer(dataDir, spec);
    const ids = [`${spec.deploymentName}-00000001-0`, `${spec.deploymentName}-00000001-1`];
    const first = createTestScheduler({ dataDir });
    const before = await first.scheduler.incarnations(spec.deploymentId);
    expect([...before.keys()].sort()).toEqual(ids);
    await first.scheduler.close(); // stops the replicas; the next start starts them again, same names

    const second = createTestScheduler({ dataDir });
    await second.scheduler.start();
    await waitForReady(second.scheduler, spec.deploymentId, 2);
    const after = await second.scheduler.incarnations(spec.deploymentId);
    expect([...after.keys()].sort()).toEqual(ids);
    for (const id of ids) expect(after.get(id)).not.toBe(before.get(id));
  });

  it('adopted replicas keep theirs; a replica that died while no server ran gets a new one', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-incarnation-'));
    const spec = workerSpec({ replicas: 2 });
    await applyThenKillServer(dataDir, spec);
    const ids = [`${spec.deploymentName}-00000001-0`, `${spec.deploymentName}-00000001-1`];
    const onDisk = ids.map((id) => readIncarnation(dataDir, id));
    expect(onDisk.every((i) => typeof i === 'string')).toBe(true);
    const deadPid = replicaPid(dataDir, ids[1]!)!;
    process.kill(-deadPid, 'SIGKILL');
    await waitFor('the replica to die', () => !isAlive(deadPid));

    const { scheduler } = createTestScheduler({ dataDir });
    await scheduler.start();
    await waitForReady(scheduler, spec.deploymentId, 2);
    const live = await waitFor('both to run', async () => {
      const now = await scheduler.incarnations(spec.deploymentId);
      return now.size === 2 ? now : undefined;
    });
    expect(live.get(ids[0]!)).toBe(onDisk[0]);
    expect(live.get(ids[1]!)).not.toBe(onDisk[1]);
  });
});

/** The incarnation a replica's state file holds (a plain field; only the spec's secrets are sealed). */
function readIncarnation(dataDir: string, replicaId: string): string | undefined {
  return (JSON.parse(readFileSync(path.join(dataDir, 'replicas', replicaId, 'replica.json'), 'utf8')) as { incarnation?: string }).incarnation;
}

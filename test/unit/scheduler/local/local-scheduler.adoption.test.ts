import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobSpec } from '../../../../src/scheduler/scheduler.js';
import {
  cleanupTestSchedulers,
  createTestScheduler,
  isAlive,
  replicaPid,
  waitFor,
  waitForReady,
  workerSpec,
} from '../../../contracts/scheduler-support.js';
import { exited, spawnTs } from '../../../helpers/spawn-ts.js';

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

function pidsOf(dataDir: string, replicaIds: string[]): Array<number | undefined> {
  return replicaIds.map((id) => replicaPid(dataDir, id));
}

describe('LocalScheduler re-adoption', () => {
  afterEach(cleanupTestSchedulers);

  it('adopts the replicas a killed server left running: same count, same pids, nothing duplicated', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-adopt-'));
    const spec = workerSpec({ replicas: 2 });
    await applyThenKillServer(dataDir, spec);
    const { scheduler } = createTestScheduler({ dataDir });
    await scheduler.start();
    // Ready at once: readiness is kept on disk, so a server restart does not make the deployment flap.
    const replicas = await scheduler.replicas(spec.deploymentId);
    expect(replicas.map((r) => [r.state, r.readySince !== undefined])).toEqual([
      ['Running', true],
      ['Running', true],
    ]);
    const ids = replicas.map((r) => r.replicaId);
    const pids = pidsOf(dataDir, ids);
    expect(pids.every((pid) => pid !== undefined && isAlive(pid))).toBe(true);
    await new Promise((r) => setTimeout(r, 400)); // a few check intervals: no duplicate appears
    expect((await scheduler.replicas(spec.deploymentId)).map((r) => r.replicaId)).toEqual(ids);
    expect(pidsOf(dataDir, ids)).toEqual(pids);

    await scheduler.stop(spec.deploymentId); // an adopted replica is stopped through its process group
    expect(pids.some((pid) => isAlive(pid!))).toBe(false);
  });

  it('restarts a replica that died while no server ran, keeping the live one as it is', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-adopt-'));
    const spec = workerSpec({ replicas: 2 });
    await applyThenKillServer(dataDir, spec);
    const { scheduler } = createTestScheduler({ dataDir });
    const ids = [`${spec.deploymentName}-00000001-0`, `${spec.deploymentName}-00000001-1`];
    const [livePid, deadPid] = pidsOf(dataDir, ids);
    process.kill(-deadPid!, 'SIGKILL');
    await waitFor('the replica to die', () => !isAlive(deadPid!));
    await scheduler.start();
    const replicas = await waitForReady(scheduler, spec.deploymentId, 2);
    expect(replicas.map((r) => r.replicaId)).toEqual(ids);
    const [stillLive, restarted] = pidsOf(dataDir, ids);
    expect(stillLive).toBe(livePid);
    expect(restarted).not.toBe(deadPid);
  });

  it('stops the replicas on close() and starts them again, with the same ids, on the next start()', async () => {
    const first = createTestScheduler();
    const spec = workerSpec({ replicas: 1 });
    await first.scheduler.apply(spec);
    const [before] = await waitForReady(first.scheduler, spec.deploymentId);
    const pid = replicaPid(first.dataDir, before!.replicaId)!;
    await first.scheduler.close();
    expect(isAlive(pid)).toBe(false);

    const second = createTestScheduler({ dataDir: first.dataDir });
    await second.scheduler.start();
    const [after] = await waitForReady(second.scheduler, spec.deploymentId);
    expect(after!.replicaId).toBe(before!.replicaId);
    expect(replicaPid(first.dataDir, after!.replicaId)).not.toBe(pid);
  });

  it('keeps a desired count of zero across a restart', async () => {
    const first = createTestScheduler();
    const spec = workerSpec({ replicas: 1 });
    await first.scheduler.apply(spec);
    await first.scheduler.scale(spec.deploymentId, 0);
    await first.scheduler.close();
    const second = createTestScheduler({ dataDir: first.dataDir });
    await second.scheduler.scale(spec.deploymentId, 1); // still known: the deployment came back from disk
    await waitFor('a replica', async () => (await second.scheduler.replicas(spec.deploymentId)).length === 1);
  });
});

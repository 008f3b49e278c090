import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicaExit } from '../../../../src/scheduler/scheduler.js';
import {
  cleanupTestSchedulers,
  createTestScheduler,
  HTTP_WORKER,
  replicaPid,
  waitFor,
  waitForReady,
  waitForReason,
  workerSpec,
} from '../../../contracts/scheduler-support.js';

const crasher = () =>
  workerSpec({ source: { path: HTTP_WORKER, cmd: [process.execPath, 'crasher.mjs'], python: false, dependencies: [] }, healthCheckPath: undefined });

describe('LocalScheduler restarts', () => {
  afterEach(cleanupTestSchedulers);

  it('shows CrashLoopBackOff with the last output lines after 3 exits within the window', async () => {
    const { scheduler } = createTestScheduler();
    const spec = crasher();
    await scheduler.apply(spec);
    const [replica] = await waitForReason(scheduler, spec.deploymentId, 'CrashLoopBackOff');
    expect(replica).toMatchObject({ state: 'Waiting', reason: 'CrashLoopBackOff', readySince: undefined });
    expect(replica!.message).toMatch(/exited [3-9] times within 10 minutes/);
    expect(replica!.message).toContain('fatal: model file missing');
    expect(replica!.restarts).toBeGreaterThanOrEqual(2);
  });

  it('restarts an exited replica with doubling delays and reports every exit at once', async () => {
    const { scheduler } = createTestScheduler({ restartPolicy: { initialDelayMs: 150, maxDelayMs: 5000 } });
    const exits: Array<ReplicaExit & { seen: number }> = [];
    scheduler.onReplicaExit((exit) => exits.push({ ...exit, seen: Date.now() }));
    const spec = crasher();
    await scheduler.apply(spec);
    await waitFor('4 exits', () => exits.length >= 4);
    const gaps = exits.slice(1, 4).map((e, i) => e.seen - exits[i]!.seen);
    // Each gap is the backoff delay plus the start of a node process.
    expect(gaps[0]).toBeGreaterThanOrEqual(150);
    expect(gaps[1]).toBeGreaterThanOrEqual(300);
    expect(gaps[2]).toBeGreaterThanOrEqual(600);
    expect(new Set(exits.map((e) => e.replicaId)).size).toBe(1);
    expect(exits[0]).toMatchObject({ deploymentId: spec.deploymentId, revisionId: spec.revisionId, code: 3, signal: undefined });
  });

  it('restarts a replica that exits with code 0, as Sprocket does after a fatal error', async () => {
    const { scheduler, dataDir, tokens } = createTestScheduler();
    const spec = workerSpec({ env: { EXIT_AFTER_MS: '400', EXIT_CODE: '0' } });
    const exits: ReplicaExit[] = [];
    scheduler.onReplicaExit((exit) => exits.push(exit));
    await scheduler.apply(spec);
    const [first] = await waitFor('a running replica', () => scheduler.replicas(spec.deploymentId).then((r) => (r[0]?.address ? r : undefined)));
    const firstPid = await waitFor('a pid', () => replicaPid(dataDir, first!.replicaId));
    await waitFor('a restart', async () => (await scheduler.replicas(spec.deploymentId))[0]!.restarts >= 1);
    expect(exits[0]).toMatchObject({ replicaId: first!.replicaId, code: 0 });
    const secondPid = await waitFor('a new pid', () => {
      const pid = replicaPid(dataDir, first!.replicaId);
      return pid !== firstPid ? pid : undefined;
    });
    expect(secondPid).not.toBe(firstPid);
    // The restarted process is the same replica: it keeps its one token.
    expect(tokens.issued.map((i) => i.replicaId)).toEqual([first!.replicaId]);
  });

  it('does not restart a replica stopped by a scale-down', async () => {
    const { scheduler } = createTestScheduler();
    const spec = workerSpec({ replicas: 2 });
    const exits: ReplicaExit[] = [];
    scheduler.onReplicaExit((exit) => exits.push(exit));
    await scheduler.apply(spec);
    await waitForReady(scheduler, spec.deploymentId, 2);
    await scheduler.scale(spec.deploymentId, 1);
    await waitFor('1 replica', async () => (await scheduler.replicas(spec.deploymentId)).length === 1);
    await new Promise((r) => setTimeout(r, 500)); // longer than the 100 ms restart delay
    const [left] = await scheduler.replicas(spec.deploymentId);
    expect(left).toMatchObject({ restarts: 0, state: 'Running' });
    expect(exits).toHaveLength(1);
    expect(exits[0]!.replicaId).not.toBe(left!.replicaId);
  });
});

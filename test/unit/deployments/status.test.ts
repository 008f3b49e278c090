import { describe, expect, it } from 'vitest';
import { observe } from '../../../src/deployments/status.js';
import type { DeploymentRecord } from '../../../src/deployments/types.js';
import type { ReplicaStatus } from '../../../src/scheduler/scheduler.js';

const record = (desired: number, revision = 'rev2') =>
  ({ id: 'dep_1', revision_id: revision, desired_replicas: desired }) as DeploymentRecord;

function replica(id: string, patch: Partial<ReplicaStatus> = {}): ReplicaStatus {
  return {
    replicaId: id,
    deploymentId: 'dep_1',
    revisionId: 'rev2',
    image: 'img',
    state: 'Running',
    reason: undefined,
    message: undefined,
    readySince: '2026-01-01T00:00:00Z',
    startedAt: '2026-01-01T00:00:00Z',
    restarts: 0,
    address: { host: '127.0.0.1', port: 1 },
    volumePreload: undefined,
    ...patch,
  };
}

const notReady = { readySince: undefined };

describe('observe', () => {
  it.each([
    { name: 'nothing desired, nothing running', desired: 0, replicas: [], status: 'ScaledToZero', ready: 0 },
    { name: 'all desired replicas ready', desired: 2, replicas: [replica('a'), replica('b')], status: 'Ready', ready: 2 },
    { name: 'first replica not ready yet', desired: 1, replicas: [replica('a', notReady)], status: 'Updating', ready: 0 },
    { name: 'an old revision still running', desired: 1, replicas: [replica('a'), replica('o', { revisionId: 'rev1' })], status: 'Updating', ready: 1 },
    { name: 'one of three ready', desired: 3, replicas: [replica('a'), replica('b', notReady), replica('c', notReady)], status: 'Scaling', ready: 1 },
    { name: 'an extra replica still stopping', desired: 1, replicas: [replica('a'), replica('b')], status: 'Scaling', ready: 2 },
    {
      name: 'the only replica crash-looping',
      desired: 1,
      replicas: [replica('a', { state: 'Waiting', reason: 'CrashLoopBackOff', readySince: undefined })],
      status: 'Failed',
      ready: 0,
    },
    { name: 'scaled to zero while the last replica stops', desired: 0, replicas: [replica('a')], status: 'Scaling', ready: 1 },
  ])('$name → $status', ({ desired, replicas, status, ready }) => {
    const observed = observe(record(desired), replicas);
    expect(observed.status).toBe(status);
    expect(observed.ready_replicas).toBe(ready);
  });

  it('says Scaling, not Updating, while a deployment the autoscaler brought back from zero starts', () => {
    expect(observe(record(1), [replica('a', notReady)], true).status).toBe('Scaling');
    expect(observe(record(1), [replica('a', notReady), replica('o', { revisionId: 'rev1' })], true).status).toBe('Updating');
  });

  it('reports replica events with only the fields that are set', () => {
    const crashing = replica('a', { state: 'Waiting', reason: 'CrashLoopBackOff', message: 'last lines', readySince: undefined });
    const preloading = replica('b', { volumePreload: { status: 'InProgress', startedAt: '2026-01-01T00:00:01Z' } });
    const events = observe(record(2), [crashing, preloading]).replica_events;
    expect(events.a).toEqual({
      image: 'img',
      revision_id: 'rev2',
      replica_status: 'Waiting',
      replica_status_reason: 'CrashLoopBackOff',
      replica_status_message: 'last lines',
    });
    expect(events.b).toMatchObject({ volume_preload_status: 'InProgress', volume_preload_started_at: '2026-01-01T00:00:01Z' });
    expect(events.b).not.toHaveProperty('volume_preload_completed_at');
  });
});

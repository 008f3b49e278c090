import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';
import { JobStore } from '../../../src/queue/job-store.js';
import { JobQueue } from '../../../src/queue/queue.js';
import { WriteBatcher } from '../../../src/queue/write-batcher.js';
import type { Clock } from '../../../src/shared/clock.js';
import { createLogger } from '../../../src/shared/logger.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';

/** A wall clock that an operator (or NTP) can set, beside a monotonic one that only moves forward. */
class SettableClock implements Clock {
  private wall = Date.parse('2026-01-01T00:00:00Z');
  private mono = 1_000;
  now(): number {
    return this.wall;
  }
  monotonic(): number {
    return this.mono;
  }
  /** Time passes: both clocks move. */
  pass(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }
  /** The wall clock is set, by `ms`; no time passes. */
  setWall(ms: number): void {
    this.wall += ms;
  }
}

const DEP = 'dep_1';

describe('JobQueue lease deadlines', () => {
  let clock: SettableClock;
  let queue: JobQueue;
  let store: MemoryStateStore;
  let blobs: DirectoryBlobStore;
  const makeQueue = () =>
    new JobQueue({
      store: new JobStore(store, blobs, new WriteBatcher(store)),
      clock,
      logger: createLogger({ level: 'silent' }),
      settings: { leaseSweepMs: 60_000, claimCeilingMs: 3_600_000, maxOutputBytes: 1 << 20, retentionMs: 86_400_000 },
    });
  beforeEach(async () => {
    clock = new SettableClock();
    store = new MemoryStateStore();
    blobs = new DirectoryBlobStore(mkdtempSync(path.join(tmpdir(), 'gantry-queue-leases-')));
    queue = makeQueue();
    await queue.start();
  });
  afterEach(async () => queue.close());

  const claimWithLease = async (claimTimeoutSeconds: number | undefined) => {
    const job = await queue.submit({ deploymentId: DEP, model: 'm', payload: {}, info: {}, priority: 0, maxRetries: 3 });
    const claimant = claimTimeoutSeconds === undefined ? { key: 'replica:r0', replicaId: 'r0' } : { key: 'key:k@h', hostname: 'h' };
    await queue.retrieve({ deploymentId: DEP, claimant, waitMs: 10, claimTimeoutSeconds, defaultLeaseSeconds: 300, signal: new AbortController().signal });
    return job.request_id;
  };
  const statusOf = async (id: string) => (await queue.view(DEP, id))?.status;

  it('ends a lease by the monotonic clock: a wall clock set forward does not expire it', async () => {
    const id = await claimWithLease(60);
    clock.setWall(2 * 3_600_000);
    clock.pass(1_000);
    await queue.expireLeases();
    expect(await statusOf(id)).toBe('running');
    clock.setWall(-5 * 3_600_000); // nor does setting it back keep it alive
    clock.pass(60_000);
    await queue.expireLeases();
    expect(await statusOf(id)).toBe('pending');
  });

  it('ends a replica-bound claim at its ceiling by the monotonic clock too', async () => {
    const id = await claimWithLease(undefined);
    clock.setWall(2 * 3_600_000);
    await queue.expireLeases();
    expect(await statusOf(id)).toBe('running');
    clock.pass(3_600_000);
    await queue.expireLeases();
    expect(await statusOf(id)).toBe('pending');
  });

  it('gives a lease that ran out while no server led one more lease period after the rebuild', async () => {
    const id = await claimWithLease(60);
    await queue.close();
    clock.pass(120_000); // the control plane was down for two minutes: the worker could not renew
    queue = makeQueue();
    await queue.start();
    await queue.expireLeases();
    expect(await statusOf(id)).toBe('running');
    clock.pass(59_000);
    await queue.expireLeases();
    expect(await statusOf(id)).toBe('running');
    clock.pass(2_000);
    await queue.expireLeases();
    expect(await statusOf(id)).toBe('pending');
  });
});

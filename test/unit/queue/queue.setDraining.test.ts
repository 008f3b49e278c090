import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';
import { JobStore } from '../../../src/queue/job-store.js';
import { JobQueue } from '../../../src/queue/queue.js';
import type { Claimant } from '../../../src/queue/types.js';
import { WriteBatcher } from '../../../src/queue/write-batcher.js';
import { createLogger } from '../../../src/shared/logger.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';
import { FakeClock } from '../../helpers/test-server.js';

const DEP = 'dep_1';
const replica = (id: string): Claimant => ({ key: `replica:${id}`, replicaId: id });

describe('JobQueue.setDraining', () => {
  let queue: JobQueue;
  beforeEach(async () => {
    const store = new MemoryStateStore();
    queue = new JobQueue({
      store: new JobStore(store, new DirectoryBlobStore(mkdtempSync(path.join(tmpdir(), 'gantry-drain-'))), new WriteBatcher(store)),
      clock: new FakeClock(),
      logger: createLogger({ level: 'silent' }),
      settings: { leaseSweepMs: 60_000, claimCeilingMs: 3_600_000, maxOutputBytes: 1 << 20, retentionMs: 86_400_000 },
    });
    await queue.start();
  });
  afterEach(async () => queue.close());

  const submit = () => queue.submit({ deploymentId: DEP, model: 'm', payload: {}, info: {}, priority: 0, maxRetries: 3 });
  const retrieve = (id: string, waitMs = 30, signal = new AbortController().signal) =>
    queue.retrieve({ deploymentId: DEP, claimant: replica(id), waitMs, claimTimeoutSeconds: undefined, defaultLeaseSeconds: 300, signal });

  it('hands a draining replica no pending job, and the others get it', async () => {
    await submit();
    queue.setDraining(DEP, ['r1']);
    expect(await retrieve('r1')).toBeUndefined();
    expect(queue.metrics(DEP).messages_waiting).toBe(1);
    expect(await retrieve('r0')).toBeDefined();
  });

  it('skips a draining replica that is already waiting when a job is submitted', async () => {
    const drained = retrieve('r1', 5_000);
    const other = retrieve('r0', 5_000);
    queue.setDraining(DEP, ['r1']);
    const job = await submit();
    expect((await other)?.record.request_id).toBe(job.request_id);
    queue.setDraining(DEP, []);
    expect(await drained).toBeUndefined(); // answered at once when un-drained, so it asks again
  });

  it('counts the claims a replica holds, until they finish', async () => {
    const job = await submit();
    await retrieve('r1');
    expect(queue.claimsHeldBy(DEP, 'r1')).toBe(1);
    expect(queue.claimsHeldBy(DEP, 'r0')).toBe(0);
    queue.setDraining(DEP, ['r1']);
    expect(queue.claimsHeldBy(DEP, 'r1')).toBe(1); // draining does not take a running job away
    await queue.update({ deploymentId: DEP, requestId: job.request_id, claimant: replica('r1'), status: 'done', payload: {}, info: undefined });
    expect(queue.claimsHeldBy(DEP, 'r1')).toBe(0);
  });

  it('un-draining gives the replica work again', async () => {
    await submit();
    queue.setDraining(DEP, ['r1']);
    expect(await retrieve('r1')).toBeUndefined();
    queue.setDraining(DEP, []);
    expect(await retrieve('r1')).toBeDefined();
  });
});

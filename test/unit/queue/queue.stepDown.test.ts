import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';
import { JobStore } from '../../../src/queue/job-store.js';
import { JobQueue } from '../../../src/queue/queue.js';
import type { Claimant } from '../../../src/queue/types.js';
import { WriteBatcher } from '../../../src/queue/write-batcher.js';
import { createLogger } from '../../../src/shared/logger.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';
import { FakeClock } from '../../helpers/test-server.js';

const DEP = 'dep_1';
const worker: Claimant = { key: 'replica:r0', replicaId: 'r0' };

function build(store = new MemoryStateStore()) {
  const blobs = new DirectoryBlobStore(mkdtempSync(path.join(tmpdir(), 'gantry-queue-stepdown-')));
  return new JobQueue({
    store: new JobStore(store, blobs, new WriteBatcher(store)),
    clock: new FakeClock(),
    logger: createLogger({ level: 'silent' }),
    settings: { leaseSweepMs: 60_000, claimCeilingMs: 24 * 3_600_000, maxOutputBytes: 1024 * 1024, retentionMs: 7 * 86_400_000 },
  });
}

const submit = (queue: JobQueue, n: number) => queue.submit({ deploymentId: DEP, model: 'm', payload: { n }, info: {}, priority: 0, maxRetries: 3 });
const retrieve = (queue: JobQueue, waitMs = 50) =>
  queue.retrieve({ deploymentId: DEP, claimant: worker, waitMs, claimTimeoutSeconds: undefined, defaultLeaseSeconds: 300, signal: new AbortController().signal });

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (err: { code?: string }) => err.code,
  );
}

describe('JobQueue.stepDown', () => {
  const queues: JobQueue[] = [];
  const make = (store?: MemoryStateStore) => {
    const queue = build(store);
    queues.push(queue);
    return queue;
  };
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.close();
  });

  it('refuses every queue and worker call with GANTRY_ERR_NOT_LEADER once stepped down', async () => {
    const queue = make();
    await queue.start();
    const job = await submit(queue, 1);
    queue.stepDown();
    expect(queue.isServing).toBe(false);
    expect(await codeOf(submit(queue, 2))).toBe('GANTRY_ERR_NOT_LEADER');
    expect(await codeOf(retrieve(queue))).toBe('GANTRY_ERR_NOT_LEADER');
    expect(await codeOf(queue.view(DEP, job.request_id))).toBe('GANTRY_ERR_NOT_LEADER');
    expect(await codeOf(queue.cancel(DEP, job.request_id))).toBe('GANTRY_ERR_NOT_LEADER');
    expect(await codeOf(queue.clear(DEP))).toBe('GANTRY_ERR_NOT_LEADER');
    const update = queue.update({ deploymentId: DEP, requestId: job.request_id, claimant: worker, status: 'done', payload: {}, info: undefined });
    expect(await codeOf(update)).toBe('GANTRY_ERR_NOT_LEADER');
  });

  it('answers waiting long polls with no job at once, and drops its in-memory state', async () => {
    const queue = make();
    await queue.start();
    await submit(queue, 1);
    await retrieve(queue); // running in memory; nothing pending now
    const started = Date.now();
    const waiting = retrieve(queue, 30_000);
    await new Promise((r) => setTimeout(r, 20));
    queue.stepDown();
    expect(await waiting).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(queue.deploymentIds()).toEqual([]);
  });

  it('serves again after start(), rebuilt from the store with every acknowledged job', async () => {
    const store = new MemoryStateStore();
    const queue = make(store);
    await queue.start();
    const a = await submit(queue, 1);
    const b = await submit(queue, 2);
    const claimed = await retrieve(queue);
    expect(claimed?.record.request_id).toBe(a.request_id);
    queue.stepDown();
    await queue.start();
    expect(queue.isServing).toBe(true);
    expect(queue.metrics(DEP)).toEqual({ messages_waiting: 1, messages_running: 1, total_jobs: 2 });
    expect((await retrieve(queue))?.record.request_id).toBe(b.request_id);
    expect((await queue.view(DEP, a.request_id))?.status).toBe('running');
  });

  it('steps down when the leadership signal given to start() aborts', async () => {
    const queue = make();
    const leadership = new AbortController();
    await queue.start(leadership.signal);
    await submit(queue, 1);
    leadership.abort();
    expect(queue.isServing).toBe(false);
    expect(await codeOf(submit(queue, 2))).toBe('GANTRY_ERR_NOT_LEADER');
  });

  it('does not start serving when leadership is lost during the rebuild', async () => {
    const store = new MemoryStateStore();
    const first = make(store);
    await first.start();
    await submit(first, 1);
    const queue = make(store);
    const leadership = new AbortController();
    const starting = queue.start(leadership.signal);
    leadership.abort();
    await starting;
    expect(queue.isServing).toBe(false);
    expect(await codeOf(submit(queue, 2))).toBe('GANTRY_ERR_NOT_LEADER');
  });

  it('answers "being rebuilt" (GANTRY_ERR_UNAVAILABLE), not "not leader", before the first start', async () => {
    const queue = make();
    expect(await codeOf(submit(queue, 1))).toBe('GANTRY_ERR_UNAVAILABLE');
  });
});

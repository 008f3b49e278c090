import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';
import { JobStore } from '../../../src/queue/job-store.js';
import { JobQueue } from '../../../src/queue/queue.js';
import type { Claimant, JobRecord } from '../../../src/queue/types.js';
import { WriteBatcher } from '../../../src/queue/write-batcher.js';
import { createLogger } from '../../../src/shared/logger.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';
import { FakeClock } from '../../helpers/test-server.js';
import { ReplicaTable } from './replica-table.js';

/**
 * Claims bound to a replica's incarnation (compat.md §8.2): kept by an adopted replica across a server
 * restart, lost at once when the incarnation is gone (the replica restarted under the same name, or
 * stopped), and only the holding incarnation's `done` is accepted, once.
 */

const DEP = 'dep_1';
const replica = (id: string): Claimant => ({ key: `replica:${id}`, replicaId: id });

describe('JobQueue claims bound to incarnations', () => {
  const store = new MemoryStateStore();
  const clock = new FakeClock();
  const replicas = new ReplicaTable('r0', 'r1');
  const queues: JobQueue[] = [];

  /** A server (re)started on the same store and replicas. */
  async function server(incarnationSweepMs = 60_000): Promise<JobQueue> {
    for (const q of queues) await q.close();
    const blobs = new DirectoryBlobStore(mkdtempSync(path.join(tmpdir(), 'gantry-queue-incarnations-')));
    const queue = new JobQueue({
      store: new JobStore(store, blobs, new WriteBatcher(store)),
      clock,
      logger: createLogger({ level: 'silent' }),
      settings: { leaseSweepMs: 60_000, claimCeilingMs: 24 * 3_600_000, maxOutputBytes: 1 << 20, retentionMs: 86_400_000, incarnationSweepMs },
      incarnations: replicas.incarnations,
    });
    queues.push(queue);
    await queue.start();
    return queue;
  }
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.close();
    for (const e of await store.list('queue/')) await store.delete(e.key);
    replicas.start('r0', 'r1');
  });

  const submit = (queue: JobQueue, deploymentId = DEP) => queue.submit({ deploymentId, model: 'm', payload: {}, info: {}, priority: 0, maxRetries: 3 });
  const retrieve = async (queue: JobQueue, id: string, deploymentId = DEP) =>
    (await queue.retrieve({ deploymentId, claimant: replica(id), waitMs: 20, claimTimeoutSeconds: undefined, defaultLeaseSeconds: 300, signal: new AbortController().signal }))?.record;
  const done = (queue: JobQueue, requestId: string, id: string, outputs: Record<string, unknown> = { by: id }) =>
    queue.update({ deploymentId: DEP, requestId, claimant: replica(id), status: 'done', payload: outputs, info: undefined });
  const stored = async (requestId: string, deploymentId = DEP) => JSON.parse((await store.get(`queue/jobs/${deploymentId}/${requestId}`))!.value) as JobRecord;

  it('records the incarnation that made the claim', async () => {
    const queue = await server();
    const job = await submit(queue);
    await retrieve(queue, 'r0');
    expect((await stored(job.request_id)).claim).toMatchObject({ replica_id: 'r0', incarnation: replicas.incarnationOf('r0') });
  });

  it('keeps the claims of a replica adopted across a server restart, and accepts its late done', async () => {
    const job = await submit(await server());
    await retrieve(queues[0]!, 'r0');
    const restarted = await server(); // the replica kept running: same incarnation
    expect((await restarted.view(DEP, job.request_id))?.status).toBe('running');
    expect(await done(restarted, job.request_id, 'r0')).toBe('applied');
    expect(await stored(job.request_id)).toMatchObject({ status: 'done', retries: 0, outputs: { by: 'r0' } });
  });

  it('loses at once, on restart, the claims of a replica restarted under the same name; its late done is refused', async () => {
    const job = await submit(await server());
    await retrieve(queues[0]!, 'r0');
    replicas.start('r0'); // stopped and started again while the server was down
    const restarted = await server();
    expect(await stored(job.request_id)).toMatchObject({ status: 'pending', retries: 1 });
    await expect(done(restarted, job.request_id, 'r0')).rejects.toMatchObject({ code: 'GANTRY_ERR_JOB_NOT_HELD', status: 409 });
  });

  it('loses the claims of a replica that no longer runs when the server restarts', async () => {
    const job = await submit(await server());
    await retrieve(queues[0]!, 'r0');
    replicas.stop('r0');
    await server();
    expect(await stored(job.request_id)).toMatchObject({ status: 'pending', retries: 1 });
    expect((await stored(job.request_id)).info.retry_history).toEqual([expect.objectContaining({ reason: 'replica r0 no longer runs' })]);
  });

  it('refuses a done from a replaced incarnation with a 409 naming the holder, and requeues the job at once', async () => {
    const queue = await server();
    const job = await submit(queue);
    await retrieve(queue, 'r0');
    const holder = replicas.incarnationOf('r0');
    replicas.start('r0'); // restarted, and no exit was reported
    const refused = done(queue, job.request_id, 'r0');
    await expect(refused).rejects.toMatchObject({ code: 'GANTRY_ERR_JOB_NOT_HELD', status: 409 });
    await expect(refused).rejects.toThrow(new RegExp(`held by incarnation ${holder} of replica r0`));
    expect(await stored(job.request_id)).toMatchObject({ status: 'pending', retries: 1 });
  });

  it('keeps the first acknowledged done of a job that was requeued and ran again', async () => {
    const first = await server();
    const job = await submit(first);
    await retrieve(first, 'r0');
    replicas.start('r0');
    const queue = await server();
    expect((await retrieve(queue, 'r1'))?.request_id).toBe(job.request_id);
    expect(await done(queue, job.request_id, 'r1')).toBe('applied');
    expect(await done(queue, job.request_id, 'r1')).toBe('repeated'); // its own retry: fine
    const late = done(queue, job.request_id, 'r0', { by: 'the replaced r0' });
    await expect(late).rejects.toMatchObject({ code: 'GANTRY_ERR_JOB_NOT_HELD' });
    await expect(late).rejects.toThrow(/already done, reported by replica r1/);
    expect(await stored(job.request_id)).toMatchObject({ status: 'done', outputs: { by: 'r1' }, done_by: { claimant: 'replica:r1' } });
  });

  it('on an exit reported late, loses the claims of the run that ended and keeps those of the run that replaced it', async () => {
    const queue = await server();
    const old = await submit(queue);
    await retrieve(queue, 'r0');
    replicas.start('r0'); // restarted; the new run claims a job before the exit of the old one is reported
    const fresh = await submit(queue);
    await retrieve(queue, 'r0');
    expect(await queue.releaseReplica(DEP, 'r0', 'exited')).toBe(1);
    expect(await stored(old.request_id)).toMatchObject({ status: 'pending', retries: 1 });
    expect(await stored(fresh.request_id)).toMatchObject({ status: 'running', claim: { incarnation: replicas.incarnationOf('r0') } });
  });

  it('finds gone incarnations by a periodic sweep too (an exit nobody reported)', async () => {
    const queue = await server(20);
    const job = await submit(queue);
    await retrieve(queue, 'r0');
    replicas.start('r0');
    await expect.poll(async () => (await stored(job.request_id)).status, { timeout: 5_000 }).toBe('pending');
    expect((await stored(job.request_id)).retries).toBe(1);
  });

  it('asks the scheduler once per deployment when it rebuilds, however many claims are stale', async () => {
    const first = await server();
    for (const dep of [DEP, 'dep_2']) {
      for (const id of ['r0', 'r1', 'r0']) {
        await submit(first, dep);
        await retrieve(first, id, dep);
      }
    }
    replicas.start('r0', 'r1');
    replicas.asked = 0;
    const restarted = await server();
    expect(replicas.asked).toBe(2);
    expect(restarted.metrics(DEP)).toMatchObject({ messages_waiting: 3, messages_running: 0 });
  });

  it('loses at once the claims a replica gave up: it polls again, idle since after it claimed them', async () => {
    const queue = await server();
    const job = await submit(queue);
    await retrieve(queue, 'r0');
    clock.advance(10_000); // the job ran; its done never reached the server; the worker moved on
    const poll = (idleSeconds: number | undefined) =>
      queue.retrieve({ deploymentId: DEP, claimant: replica('r0'), waitMs: 20, claimTimeoutSeconds: undefined, defaultLeaseSeconds: 300, signal: new AbortController().signal, ...(idleSeconds === undefined ? {} : { idleSeconds }) });
    expect(await poll(undefined)).toBeUndefined(); // says nothing of being idle: nothing changes
    expect(await poll(30)).toBeUndefined(); // idle since before the claim (its answer was lost): kept
    expect((await stored(job.request_id)).status).toBe('running');
    const again = await poll(3);
    expect(again?.record).toMatchObject({ request_id: job.request_id, retries: 1 });
    expect((await stored(job.request_id)).info.retry_history).toEqual([expect.objectContaining({ reason: expect.stringMatching(/asked for a new job/) })]);
  });

  it('binds key-based workers by their lease alone', async () => {
    const queue = await server();
    const job = await submit(queue);
    const worker: Claimant = { key: 'key:k1@host-a', hostname: 'host-a' };
    await queue.retrieve({ deploymentId: DEP, claimant: worker, waitMs: 20, claimTimeoutSeconds: 60, defaultLeaseSeconds: 300, signal: new AbortController().signal });
    replicas.stop('r0');
    replicas.stop('r1');
    const restarted = await server();
    expect((await stored(job.request_id)).claim?.incarnation).toBeUndefined();
    expect(await restarted.update({ deploymentId: DEP, requestId: job.request_id, claimant: { key: 'key:k1@-' }, status: 'done', payload: {}, info: undefined })).toBe('applied');
  });
});

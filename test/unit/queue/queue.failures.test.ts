import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';
import { JobStore } from '../../../src/queue/job-store.js';
import { JobQueue, type RetrieveInput } from '../../../src/queue/queue.js';
import type { Claimant, JobRecord } from '../../../src/queue/types.js';
import { WriteBatcher } from '../../../src/queue/write-batcher.js';
import { createLogger } from '../../../src/shared/logger.js';
import { FakeClock } from '../../helpers/test-server.js';
import { FaultyStateStore, type WriteFault } from './faulty-store.js';
import { ReplicaTable } from './replica-table.js';

/**
 * Failure injection for every queue transition: the store fails the transition's write before it
 * commits (the caller gets the error, nothing changes) or after (the write is durable though the store
 * threw: the queue reads it back and the transition succeeds). Either way memory and store agree after,
 * and every job still ends.
 */

const DEP = 'dep_1';
const replica = (id: string): Claimant => ({ key: `replica:${id}`, replicaId: id });
const FAULTS: WriteFault[] = ['before-commit', 'after-commit'];

function build(store = new FaultyStateStore(), clock = new FakeClock(), replicas = new ReplicaTable('r0', 'r9')) {
  const blobs = new DirectoryBlobStore(mkdtempSync(path.join(tmpdir(), 'gantry-queue-faults-')));
  const queue = new JobQueue({
    store: new JobStore(store, blobs, new WriteBatcher(store)),
    clock,
    logger: createLogger({ level: 'silent' }),
    settings: { leaseSweepMs: 60_000, claimCeilingMs: 24 * 3_600_000, maxOutputBytes: 1024 * 1024, retentionMs: 7 * 86_400_000 },
    incarnations: replicas.incarnations,
  });
  return { queue, store, clock, replicas };
}

describe('JobQueue under failing writes', () => {
  let env: ReturnType<typeof build>;
  beforeEach(async () => {
    env = build();
    await env.queue.start();
  });
  afterEach(async () => env.queue.close());

  const submit = () => env.queue.submit({ deploymentId: DEP, model: 'm', payload: { n: 1 }, info: {}, priority: 0, maxRetries: 3 });
  const retrieve = (claimant = replica('r0'), extra: Partial<RetrieveInput> = {}) =>
    env.queue.retrieve({ deploymentId: DEP, claimant, waitMs: 20, claimTimeoutSeconds: undefined, defaultLeaseSeconds: 300, signal: new AbortController().signal, ...extra });
  const update = (requestId: string, status: 'running' | 'done' | 'failed', claimant = replica('r0')) =>
    env.queue.update({ deploymentId: DEP, requestId, claimant, status, payload: { out: 1 }, info: { step: status } });
  const stored = async (): Promise<JobRecord[]> => (await env.store.list('queue/jobs/')).map((e) => JSON.parse(e.value) as JobRecord);
  const storedOne = async (id: string) => (await stored()).find((r) => r.request_id === id);

  /** Memory (what the queue counts and shows) and store (what is written) tell the same story. */
  async function expectAgreement(): Promise<void> {
    const records = await stored();
    const count = (status: string) => records.filter((r) => r.status === status).length;
    expect(env.queue.metrics(DEP)).toMatchObject({ messages_waiting: count('pending'), messages_running: count('running') });
    for (const r of records) expect(await env.queue.view(DEP, r.request_id)).toMatchObject({ status: r.status, retries: r.retries, info: r.info });
  }

  /** Runs every job still pending or running to its end through a healthy store; every job then ended. */
  async function expectEveryJobEnds(): Promise<void> {
    for (const r of await stored()) if (r.status === 'running') await update(r.request_id, 'done', { key: r.claim!.claimant, replicaId: r.claim!.replica_id });
    for (let got = await retrieve(replica('r9')); got; got = await retrieve(replica('r9'))) await update(got.record.request_id, 'done', replica('r9'));
    expect((await stored()).filter((r) => r.status === 'pending' || r.status === 'running')).toEqual([]);
    await expectAgreement();
  }

  async function outcome(promise: Promise<unknown>): Promise<'ok' | 'error'> {
    return promise.then(
      () => 'ok',
      () => 'error',
    );
  }

  describe.each(FAULTS)('a write that fails %s', (fault) => {
    const expected = fault === 'before-commit' ? 'error' : 'ok';

    it('submit', async () => {
      env.store.failNextWrite(fault);
      expect(await outcome(submit())).toBe(expected);
      expect(await stored()).toHaveLength(fault === 'before-commit' ? 0 : 1);
      await expectAgreement();
      await expectEveryJobEnds();
    });

    it('submit straight to a waiting worker', async () => {
      const waiting = retrieve(replica('r0'), { waitMs: 5_000 });
      await new Promise((resolve) => setTimeout(resolve, 10));
      env.store.failNextWrite(fault);
      expect(await outcome(submit())).toBe(expected);
      const got = await waiting;
      expect(got === undefined).toBe(fault === 'before-commit');
      await expectAgreement();
      await expectEveryJobEnds();
    });

    it('claim', async () => {
      const job = await submit();
      env.store.failNextWrite(fault);
      expect(await outcome(retrieve())).toBe(expected);
      expect((await storedOne(job.request_id))?.status).toBe(fault === 'before-commit' ? 'pending' : 'running');
      await expectAgreement();
      if (fault === 'before-commit') expect((await retrieve())?.record.request_id).toBe(job.request_id);
      await expectEveryJobEnds();
    });

    it('renew (a running update)', async () => {
      const job = await submit();
      await retrieve(replica('r0'), { claimTimeoutSeconds: 60 });
      env.clock.advance(50_000);
      env.store.failNextWrite(fault);
      expect(await outcome(update(job.request_id, 'running'))).toBe(expected);
      await expectAgreement();
      expect(await update(job.request_id, 'running')).toBe('applied'); // the worker's retry
      env.clock.advance(50_000);
      await env.queue.expireLeases();
      expect((await storedOne(job.request_id))?.status).toBe('running');
      await expectEveryJobEnds();
    });

    it.each(['done', 'failed'] as const)('%s', async (status) => {
      const job = await submit();
      await retrieve();
      env.store.failNextWrite(fault);
      expect(await outcome(update(job.request_id, status))).toBe(expected);
      expect((await storedOne(job.request_id))?.status).toBe(fault === 'before-commit' ? 'running' : status);
      await expectAgreement();
      // The worker retries its update: applied the first time it reaches the store, repeated after.
      expect(await update(job.request_id, status)).toBe(fault === 'before-commit' ? 'applied' : 'repeated');
      expect((await storedOne(job.request_id))?.status).toBe(status);
      await expectEveryJobEnds();
    });

    it('cancel of a pending job', async () => {
      const job = await submit();
      env.store.failNextWrite(fault);
      expect(await outcome(env.queue.cancel(DEP, job.request_id))).toBe(expected);
      await expectAgreement();
      if (fault === 'before-commit') expect(await env.queue.cancel(DEP, job.request_id)).toEqual({ canceled: true });
      expect((await storedOne(job.request_id))?.status).toBe('canceled');
      await expectEveryJobEnds();
    });

    it('cancel of a running job', async () => {
      const job = await submit();
      await retrieve();
      env.store.failNextWrite(fault);
      expect(await outcome(env.queue.cancel(DEP, job.request_id, { running: true }))).toBe(expected);
      await expectAgreement();
      if (fault === 'before-commit') expect(await env.queue.cancel(DEP, job.request_id, { running: true })).toEqual({ canceled: true });
      await expect(update(job.request_id, 'done')).rejects.toMatchObject({ code: 'GANTRY_ERR_JOB_CANCELED' });
      await expectEveryJobEnds();
    });

    it('clear', async () => {
      await submit();
      await submit();
      env.store.failNextWrite(fault);
      expect(await outcome(env.queue.clear(DEP))).toBe(expected);
      await expectAgreement();
      await env.queue.clear(DEP);
      expect((await stored()).map((r) => r.status)).toEqual(['canceled', 'canceled']);
      await expectEveryJobEnds();
    });

    it('release (the worker never heard of its claim)', async () => {
      const job = await submit();
      const got = await retrieve();
      env.store.failNextWrite(fault);
      expect(await outcome(env.queue.release(DEP, got!.record.request_id, replica('r0')))).toBe(expected);
      await expectAgreement();
      await env.queue.expireLeases(); // settles a release that did not go through
      expect(await storedOne(job.request_id)).toMatchObject({ status: 'pending', retries: 0 });
      await expectAgreement();
      await expectEveryJobEnds();
    });

    it('lease expiry (the sweep)', async () => {
      const job = await submit();
      await retrieve(replica('r0'), { claimTimeoutSeconds: 30 });
      env.clock.advance(31_000);
      env.store.failNextWrite(fault);
      await env.queue.expireLeases();
      await expectAgreement();
      await env.queue.expireLeases(); // the next sweep, when the first one's write did not go through
      expect(await storedOne(job.request_id)).toMatchObject({ status: 'pending', retries: 1 });
      await expectAgreement();
      await expectEveryJobEnds();
    });

    it('a lost claim when a replica exits', async () => {
      const job = await submit();
      await retrieve();
      env.replicas.stop('r0');
      env.store.failNextWrite(fault);
      await env.queue.releaseReplica(DEP, 'r0', 'exited');
      await expectAgreement();
      await env.queue.expireLeases(); // retries a loss whose write did not go through
      expect(await storedOne(job.request_id)).toMatchObject({ status: 'pending', retries: 1 });
      await expectAgreement();
      await expectEveryJobEnds();
    });

    it('a lost claim found on a done from a replaced incarnation', async () => {
      const job = await submit();
      await retrieve();
      env.replicas.start('r0'); // restarted, no exit reported
      env.store.failNextWrite(fault);
      await expect(update(job.request_id, 'done')).rejects.toThrow();
      await expectAgreement();
      await env.queue.expireLeases(); // retries a loss whose write did not go through
      await expect(update(job.request_id, 'done')).rejects.toMatchObject({ code: 'GANTRY_ERR_JOB_NOT_HELD' });
      expect(await storedOne(job.request_id)).toMatchObject({ status: 'pending', retries: 1 });
      await expectAgreement();
      await expectEveryJobEnds();
    });

    it('a claim given up by a replica that asks for a new job', async () => {
      const job = await submit();
      await retrieve();
      env.clock.advance(10_000);
      env.store.failNextWrite(fault);
      // Lost once its write went through, the job is first in line again, for this very poll.
      const got = await retrieve(replica('r0'), { idleSeconds: 3 });
      expect(got?.record.request_id).toBe(fault === 'before-commit' ? undefined : job.request_id);
      await expectAgreement();
      await env.queue.expireLeases(); // retries a loss whose write did not go through
      expect(await storedOne(job.request_id)).toMatchObject({ status: fault === 'before-commit' ? 'pending' : 'running', retries: 1 });
      await expectAgreement();
      await expectEveryJobEnds();
    });

    it('a lost claim found by the rebuild', async () => {
      const job = await submit();
      await retrieve();
      await env.queue.close();
      const next = build(env.store, env.clock, new ReplicaTable('r9'));
      env.store.failNextWrite(fault);
      await next.queue.start();
      await next.queue.expireLeases();
      expect(await storedOne(job.request_id)).toMatchObject({ status: 'pending', retries: 1 });
      env = next;
      await expectAgreement();
      await expectEveryJobEnds();
    });

    it('retention (a finished job deleted)', async () => {
      const job = await submit();
      await retrieve();
      await update(job.request_id, 'done');
      env.clock.advance(8 * 86_400_000);
      env.store.failNextWrite(fault);
      await expect(env.queue.sweepRetention()).rejects.toThrow(); // reported; the next sweep goes on
      await env.queue.sweepRetention();
      expect(await stored()).toEqual([]);
      await expectAgreement();
    });
  });

  it('a lost fence: the transition is refused as not-leader, nothing is read back, nothing changes', async () => {
    await env.queue.close();
    const store = new FaultyStateStore();
    const index = await store.put('leader', 'https://a:1');
    env = build(store);
    await env.queue.start(undefined, { verb: 'check-index', key: 'leader', index });
    const job = await submit();
    await retrieve();
    await store.put('leader', 'https://b:2'); // another replica leads now
    const reads = store.calls.filter((c) => c.method === 'get').length;
    await expect(update(job.request_id, 'done')).rejects.toMatchObject({ code: 'GANTRY_ERR_NOT_LEADER' });
    expect(store.calls.filter((c) => c.method === 'get').length).toBe(reads);
    expect((await storedOne(job.request_id))?.status).toBe('running');
    expect(env.queue.metrics(DEP)).toMatchObject({ messages_running: 1 });
  });

  describe('a write that commits but whose outcome cannot be read back', () => {
    it('claim: the sweep puts the claim nobody heard of back in the queue', async () => {
      const job = await submit();
      env.store.failNextWrite('after-commit', 1);
      await expect(retrieve()).rejects.toThrow();
      expect((await storedOne(job.request_id))?.status).toBe('running');
      await env.queue.expireLeases();
      expect(await storedOne(job.request_id)).toMatchObject({ status: 'pending', retries: 0 });
      await expectAgreement();
      await expectEveryJobEnds();
    });

    it('done: the worker retries and hears it was recorded; the sweep settles memory', async () => {
      const job = await submit();
      await retrieve();
      env.store.failNextWrite('after-commit', 1);
      await expect(update(job.request_id, 'done')).rejects.toThrow();
      await env.queue.expireLeases();
      await expectAgreement();
      expect(await update(job.request_id, 'done')).toBe('repeated');
      await expectEveryJobEnds();
    });
  });
});

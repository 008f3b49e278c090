import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';
import { JobStore } from '../../../src/queue/job-store.js';
import { JobQueue, type RetrieveInput } from '../../../src/queue/queue.js';
import type { Claimant } from '../../../src/queue/types.js';
import { WriteBatcher } from '../../../src/queue/write-batcher.js';
import { createLogger } from '../../../src/shared/logger.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';
import { FakeClock } from '../../helpers/test-server.js';
import { ReplicaTable } from './replica-table.js';

const DEP = 'dep_1';
const replica = (id: string): Claimant => ({ key: `replica:${id}`, replicaId: id });
const keyWorker: Claimant = { key: 'key:k1@host-a', hostname: 'host-a' };

function build(store = new MemoryStateStore(), clock = new FakeClock(), replicas = new ReplicaTable('r0', 'r1')) {
  const blobs = new DirectoryBlobStore(mkdtempSync(path.join(tmpdir(), 'gantry-queue-blobs-')));
  const queue = new JobQueue({
    store: new JobStore(store, blobs, new WriteBatcher(store)),
    clock,
    logger: createLogger({ level: 'silent' }),
    settings: { leaseSweepMs: 60_000, claimCeilingMs: 24 * 3_600_000, maxOutputBytes: 1024 * 1024, retentionMs: 7 * 86_400_000 },
    incarnations: replicas.incarnations,
  });
  return { queue, store, clock, blobs, replicas };
}

describe('JobQueue', () => {
  let env: ReturnType<typeof build>;
  beforeEach(async () => {
    env = build();
    await env.queue.start();
  });
  afterEach(async () => env.queue.close());

  const submit = (payload: Record<string, unknown> = {}, priority = 0, maxRetries = 3) =>
    env.queue.submit({ deploymentId: DEP, model: 'm', payload, info: {}, priority, maxRetries });
  const retrieve = (claimant: Claimant = replica('r0'), extra: Partial<RetrieveInput> = {}) =>
    env.queue.retrieve({
      deploymentId: DEP,
      claimant,
      waitMs: 50,
      claimTimeoutSeconds: undefined,
      defaultLeaseSeconds: 300,
      signal: new AbortController().signal,
      ...extra,
    });
  const done = (requestId: string, claimant = replica('r0'), outputs: Record<string, unknown> = { ok: true }) =>
    env.queue.update({ deploymentId: DEP, requestId, claimant, status: 'done', payload: outputs, info: undefined });

  it('hands jobs out by priority, then submission order', async () => {
    const a = await submit({ n: 'a' });
    const b = await submit({ n: 'b' }, 5);
    const c = await submit({ n: 'c' });
    const order = [];
    for (let i = 0; i < 3; i++) order.push((await retrieve())!.record.request_id);
    expect(order).toEqual([b.request_id, a.request_id, c.request_id]);
    expect(await retrieve()).toBeUndefined();
  });

  it('hands a submitted job straight to a waiting worker', async () => {
    const waiting = retrieve(replica('r0'), { waitMs: 5_000 });
    const job = await submit({ hello: 'world' });
    const got = await waiting;
    expect(got?.record.request_id).toBe(job.request_id);
    expect(got?.payload).toEqual({ hello: 'world' });
    expect((await env.queue.view(DEP, job.request_id))?.status).toBe('running');
  });

  it('answers undefined when the long poll times out or the worker goes away', async () => {
    expect(await retrieve(replica('r0'), { waitMs: 20 })).toBeUndefined();
    const gone = new AbortController();
    const waiting = retrieve(replica('r0'), { waitMs: 5_000, signal: gone.signal });
    gone.abort();
    expect(await waiting).toBeUndefined();
    const job = await submit();
    expect((await retrieve())?.record.request_id).toBe(job.request_id);
  });

  it('records outputs on done and treats a repeated done as a no-op', async () => {
    const job = await submit({ x: 1 });
    await retrieve();
    expect(await done(job.request_id)).toBe('applied');
    expect(await done(job.request_id)).toBe('repeated');
    const view = await env.queue.view(DEP, job.request_id);
    expect(view).toMatchObject({ status: 'done', outputs: { ok: true }, inputs: { x: 1 }, retries: 0 });
    expect(view?.done_at).toEqual(expect.any(String));
  });

  it('merges info shallowly from running updates and keeps failed final', async () => {
    const job = await env.queue.submit({ deploymentId: DEP, model: 'm', payload: {}, info: { keep: 1, progress: 0 }, priority: 0, maxRetries: 3 });
    await retrieve();
    const update = (status: 'running' | 'failed', info: Record<string, unknown>) =>
      env.queue.update({ deploymentId: DEP, requestId: job.request_id, claimant: replica('r0'), status, payload: {}, info });
    await update('running', { progress: 0.5 });
    expect((await env.queue.view(DEP, job.request_id))?.info).toEqual({ keep: 1, progress: 0.5 });
    await update('failed', { error: "ValueError('bad')" });
    expect(await env.queue.view(DEP, job.request_id)).toMatchObject({ status: 'failed', info: { keep: 1, progress: 0.5, error: "ValueError('bad')" } });
    await expect(update('running', {})).rejects.toMatchObject({ code: 'GANTRY_ERR_JOB_NOT_HELD' });
  });

  it('refuses updates from a worker that does not hold the claim', async () => {
    const job = await submit();
    await retrieve(replica('r0'));
    await expect(done(job.request_id, replica('r1'))).rejects.toMatchObject({ code: 'GANTRY_ERR_JOB_NOT_HELD' });
    await expect(done('nope', replica('r0'))).rejects.toMatchObject({ code: 'GANTRY_ERR_JOB_NOT_FOUND' });
  });

  it('matches key-based claimants by key, since updates carry no hostname', async () => {
    const job = await submit();
    await retrieve(keyWorker);
    expect(await done(job.request_id, { key: 'key:k1@-' })).toBe('applied');
  });

  it('cancels pending jobs only, answering the current status otherwise', async () => {
    const a = await submit();
    const b = await submit();
    expect(await env.queue.cancel(DEP, a.request_id)).toEqual({ canceled: true });
    expect(await env.queue.cancel(DEP, a.request_id)).toEqual({ canceled: false, status: 'canceled' });
    await retrieve();
    expect(await env.queue.cancel(DEP, b.request_id)).toEqual({ canceled: false, status: 'running' });
    await expect(env.queue.cancel(DEP, 'nope')).rejects.toMatchObject({ code: 'GANTRY_ERR_JOB_NOT_FOUND' });
  });

  it('clears every pending job and leaves running ones alone', async () => {
    const first = await submit();
    await retrieve();
    await submit();
    await submit();
    expect(await env.queue.clear(DEP)).toBe(2);
    expect(env.queue.metrics(DEP)).toEqual({ messages_waiting: 0, messages_running: 1, total_jobs: 1 });
    expect((await env.queue.view(DEP, first.request_id))?.status).toBe('running');
  });

  it('requeues a job whose lease expired at its original place, counting a retry', async () => {
    const a = await submit({ n: 'a' });
    const b = await submit({ n: 'b' });
    await retrieve(replica('r0'), { claimTimeoutSeconds: 90 });
    env.clock.advance(91_000);
    await env.queue.expireLeases();
    const again = await retrieve(replica('r1'));
    expect(again?.record.request_id).toBe(a.request_id);
    expect(again?.record.retries).toBe(1);
    expect((await env.queue.view(DEP, b.request_id))?.status).toBe('pending');
  });

  it('renews a lease on every running update', async () => {
    const job = await submit();
    await retrieve(replica('r0'), { claimTimeoutSeconds: 90 });
    env.clock.advance(60_000);
    await env.queue.update({ deploymentId: DEP, requestId: job.request_id, claimant: replica('r0'), status: 'running', payload: {}, info: undefined });
    env.clock.advance(60_000);
    await env.queue.expireLeases();
    expect((await env.queue.view(DEP, job.request_id))?.status).toBe('running');
  });

  it('holds a replica-bound claim until the replica exits, then releases it at once', async () => {
    const job = await submit();
    await retrieve(replica('r0'));
    env.clock.advance(3_600_000);
    await env.queue.expireLeases();
    expect((await env.queue.view(DEP, job.request_id))?.status).toBe('running');
    env.replicas.stop('r0'); // the scheduler reports an exit once the process is gone
    expect(await env.queue.releaseReplica(DEP, 'r0', 'exited')).toBe(1);
    expect(await env.queue.view(DEP, job.request_id)).toMatchObject({ status: 'pending', retries: 1 });
  });

  it('fails a job whose claim is lost after max_retries, saying why', async () => {
    const job = await submit({}, 0, 1);
    for (let attempt = 0; attempt < 2; attempt++) {
      env.replicas.start('r0');
      await retrieve(replica('r0'));
      env.replicas.stop('r0');
      await env.queue.releaseReplica(DEP, 'r0', 'exited');
    }
    const view = await env.queue.view(DEP, job.request_id);
    expect(view).toMatchObject({ status: 'failed', retries: 1 });
    expect(String(view?.info.error)).toMatch(/lost 2 times/);
    expect(view?.info.retry_history).toHaveLength(2);
  });

  it('keeps large payloads and outputs out of the record and returns them whole', async () => {
    const big = { blob: 'x'.repeat(200_000) };
    const job = await submit(big);
    const record = JSON.parse((await env.store.list('queue/jobs/'))[0]!.value);
    expect(record.payload).toBeUndefined();
    expect(record.payload_ref).toMatch(/payload\.json$/);
    expect((await retrieve())?.payload).toEqual(big);
    await done(job.request_id, replica('r0'), { out: 'y'.repeat(100_000) });
    expect((await env.queue.view(DEP, job.request_id))?.outputs).toEqual({ out: 'y'.repeat(100_000) });
  });

  it('fails a job whose outputs exceed the limit, with a clear info.error', async () => {
    const job = await submit();
    await retrieve();
    await done(job.request_id, replica('r0'), { out: 'z'.repeat(2 * 1024 * 1024) });
    const view = await env.queue.view(DEP, job.request_id);
    expect(view?.status).toBe('failed');
    expect(String(view?.info.error)).toMatch(/over the limit/);
  });

  it('rebuilds pending order, running claims and sequence from the store', async () => {
    const a = await submit({}, 1);
    const b = await submit();
    const c = await submit({}, 1);
    await retrieve(replica('r0'));
    await env.queue.close();
    const next = build(env.store, env.clock);
    await next.queue.start();
    expect(next.queue.metrics(DEP)).toEqual({ messages_waiting: 2, messages_running: 1, total_jobs: 3 });
    const d = await next.queue.submit({ deploymentId: DEP, model: 'm', payload: {}, info: {}, priority: 1, maxRetries: 3 });
    const order = [];
    for (let i = 0; i < 3; i++) order.push((await next.queue.retrieve({ deploymentId: DEP, claimant: replica('r1'), waitMs: 10, claimTimeoutSeconds: undefined, defaultLeaseSeconds: 300, signal: new AbortController().signal }))!.record.request_id);
    expect(order).toEqual([c.request_id, d.request_id, b.request_id]);
    expect((await next.queue.view(DEP, a.request_id))?.status).toBe('running');
    await next.queue.close();
  });

  it('refuses work until start() has rebuilt it', async () => {
    const fresh = build(env.store, env.clock);
    await expect(fresh.queue.submit({ deploymentId: DEP, model: 'm', payload: {}, info: {}, priority: 0, maxRetries: 3 })).rejects.toMatchObject({
      code: 'GANTRY_ERR_UNAVAILABLE',
    });
    await fresh.queue.start();
    expect((await fresh.queue.submit({ deploymentId: DEP, model: 'm', payload: {}, info: {}, priority: 0, maxRetries: 3 })).seq).toBeGreaterThan(0);
    await fresh.queue.close();
  });

  it('releases claims of replicas that are gone when it starts', async () => {
    const job = await submit();
    await retrieve(replica('r0'));
    await env.queue.close();
    const next = build(env.store, env.clock, new ReplicaTable());
    await next.queue.start();
    expect(await next.queue.view(DEP, job.request_id)).toMatchObject({ status: 'pending', retries: 1 });
    await next.queue.close();
  });

  it('removes finished jobs after the retention period, and only those', async () => {
    const old = await submit();
    await retrieve();
    await done(old.request_id);
    const pending = await submit();
    env.clock.advance(8 * 86_400_000);
    expect(await env.queue.sweepRetention()).toBe(1);
    expect(await env.queue.view(DEP, old.request_id)).toBeUndefined();
    expect((await env.queue.view(DEP, pending.request_id))?.status).toBe('pending');
  });
});

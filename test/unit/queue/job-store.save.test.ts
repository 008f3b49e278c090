import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore } from '../../../src/blobs/directory/directory-blob-store.js';
import { JobStore } from '../../../src/queue/job-store.js';
import type { JobRecord } from '../../../src/queue/types.js';
import { WriteBatcher } from '../../../src/queue/write-batcher.js';
import { isAppError } from '../../../src/shared/errors.js';
import { MAX_VALUE_BYTES } from '../../../src/state/state-store.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';

/** Issue 8: a job too large for the StateStore (Consul KV's value limit) is refused with a 413. */
describe('JobStore.save', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  function storeOver(state: MemoryStateStore): JobStore {
    const dir = mkdtempSync(path.join(tmpdir(), 'gantry-jobs-'));
    dirs.push(dir);
    return new JobStore(state, new DirectoryBlobStore(dir), new WriteBatcher(state));
  }

  const record = (requestId: string, info: Record<string, unknown>): JobRecord => ({
    request_id: requestId,
    deployment_id: 'dep-1',
    model: 'm',
    status: 'pending',
    priority: 0,
    seq: 1,
    retries: 0,
    max_retries: 3,
    created_at: new Date(0).toISOString(),
    payload: {},
    info,
    warnings: [],
  });

  it('refuses a record over the state store value limit with GANTRY_ERR_JOB_PAYLOAD_TOO_LARGE (413) and writes nothing', async () => {
    const state = new MemoryStateStore();
    const err: unknown = await storeOver(state).save(record('r1', { notes: 'x'.repeat(MAX_VALUE_BYTES) })).catch((e: unknown) => e);
    expect(isAppError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'GANTRY_ERR_JOB_PAYLOAD_TOO_LARGE', status: 413, param: 'info' });
    expect(await state.list('queue/')).toEqual([]);
  });

  it('saves many records whose sum is over one transaction, each one whole', async () => {
    const state = new MemoryStateStore();
    const records = Array.from({ length: 12 }, (_, i) => record(`r${i}`, { notes: 'y'.repeat(60 * 1024) }));
    await storeOver(state).saveMany(records);
    expect(await state.list('queue/jobs/dep-1/')).toHaveLength(12);
    expect(state.calls.filter((c) => c.method === 'txn').length).toBeGreaterThan(1);
  });
});

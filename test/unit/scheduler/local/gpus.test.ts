import { describe, expect, it } from 'vitest';
import { GpuPool, parseNvidiaSmi, unschedulableMessage, type Gpu } from '../../../../src/scheduler/local/gpus.js';

const TWO: Gpu[] = [
  { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559 },
  { index: 1, name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559 },
];

describe('parseNvidiaSmi', () => {
  it('reads index, name and memory from the CSV and skips anything else', () => {
    const csv = '0, NVIDIA H100 80GB HBM3, 81559\n1, NVIDIA H100 80GB HBM3, 81559\n\nNo devices were found\n';
    expect(parseNvidiaSmi(csv)).toEqual(TWO);
  });
});

describe('GpuPool', () => {
  it('hands out free GPUs, makes a request that does not fit wait, and grants it on release', async () => {
    const pool = new GpuPool(async () => TWO);
    const never = new AbortController().signal;
    const waits: number[] = [];
    const onWait = (free: number) => waits.push(free);
    expect(await pool.acquire(1, { signal: never, onWait })).toEqual([0]);
    expect(await pool.acquire(1, { signal: never, onWait })).toEqual([1]);
    const third = pool.acquire(1, { signal: never, onWait });
    await new Promise((r) => setTimeout(r, 10));
    expect(waits).toEqual([0]);
    pool.release([1]);
    expect(await third).toEqual([1]);
  });

  it('gives nothing and waits for nothing when no GPU is needed', async () => {
    const pool = new GpuPool(async () => []);
    expect(await pool.acquire(0, { signal: new AbortController().signal, onWait: () => undefined })).toEqual([]);
  });

  it('ends a wait when it is aborted', async () => {
    const pool = new GpuPool(async () => TWO);
    const abort = new AbortController();
    pool.claim([0, 1]);
    const waiting = pool.acquire(2, { signal: abort.signal, onWait: () => undefined });
    abort.abort();
    expect(await waiting).toBeUndefined();
    pool.release([0, 1]);
    expect(await pool.acquire(2, { signal: new AbortController().signal, onWait: () => undefined })).toEqual([0, 1]);
  });
});

describe('unschedulableMessage', () => {
  it.each([
    { count: 1, free: 0, all: TWO, expected: 'needs 1 GPU (h100-80gb); 0 of 2 GPUs (NVIDIA H100 80GB HBM3) are free' },
    { count: 2, free: 0, all: [], expected: 'needs 2 GPUs (h100-80gb); this machine has no GPUs' },
  ])('says "$expected"', ({ count, free, all, expected }) => {
    expect(unschedulableMessage(count, 'h100-80gb', free, all)).toContain(expected);
  });
});

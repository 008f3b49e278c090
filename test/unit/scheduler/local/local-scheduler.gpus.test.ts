import { afterEach, describe, expect, it } from 'vitest';
import type { Gpu } from '../../../../src/scheduler/local/gpus.js';
import type { ReplicaStatus } from '../../../../src/scheduler/scheduler.js';
import {
  cleanupTestSchedulers,
  createTestScheduler,
  getJson,
  waitForReady,
  waitForReason,
  workerSpec,
} from '../../../contracts/scheduler-support.js';

const TWO_GPUS: Gpu[] = [
  { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559 },
  { index: 1, name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559 },
];

async function cudaDevices(replica: ReplicaStatus): Promise<string> {
  return (await getJson<{ CUDA_VISIBLE_DEVICES: string }>(replica.address!.port, '/env')).CUDA_VISIBLE_DEVICES;
}

describe('LocalScheduler GPUs', () => {
  afterEach(cleanupTestSchedulers);

  it('gives each replica its own GPUs, holds back one that does not fit, and starts it when GPUs are freed', async () => {
    const { scheduler } = createTestScheduler({ gpuProbe: async () => TWO_GPUS });
    const a = workerSpec({ replicas: 2, gpuType: 'h100-80gb', gpuCount: 1 });
    const b = workerSpec({ replicas: 1, gpuType: 'h100-80gb', gpuCount: 1 });
    await scheduler.apply(a);
    const running = await waitForReady(scheduler, a.deploymentId, 2);
    expect((await Promise.all(running.map(cudaDevices))).sort()).toEqual(['0', '1']);

    await scheduler.apply(b);
    const [waiting] = await waitForReason(scheduler, b.deploymentId, 'Unschedulable');
    expect(waiting).toMatchObject({ state: 'Waiting', address: undefined });
    expect(waiting!.message).toContain('needs 1 GPU (h100-80gb); 0 of 2 GPUs');

    await scheduler.scale(a.deploymentId, 1);
    const [started] = await waitForReady(scheduler, b.deploymentId);
    const [kept] = await scheduler.replicas(a.deploymentId);
    expect(await cudaDevices(started!)).not.toBe(await cudaDevices(kept!));
  });

  it('hides every GPU from a replica that needs none', async () => {
    const { scheduler } = createTestScheduler({ gpuProbe: async () => TWO_GPUS });
    const spec = workerSpec();
    await scheduler.apply(spec);
    const [replica] = await waitForReady(scheduler, spec.deploymentId);
    expect(await cudaDevices(replica!)).toBe('');
  });
});

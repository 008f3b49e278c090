import { afterEach, describe, expect, it } from 'vitest';
import type { Gpu } from '../../../../src/scheduler/local/gpus.js';
import type { ReplicaStatus } from '../../../../src/scheduler/scheduler.js';
import { cleanupTestSchedulers, createTestScheduler, getJson, waitFor, workerSpec } from '../../../contracts/scheduler-support.js';

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
    const running = await waitFor('2 ready', async () => {
      const replicas = await scheduler.replicas(a.deploymentId);
      return replicas.filter((r) => r.readySince).length === 2 ? replicas : undefined;
    });
    expect((await Promise.all(running.map(cudaDevices))).sort()).toEqual(['0', '1']);

    await scheduler.apply(b);
    const [waiting] = await waitFor('Unschedulable', async () => {
      const replicas = await scheduler.replicas(b.deploymentId);
      return replicas[0]?.reason === 'Unschedulable' ? replicas : undefined;
    });
    expect(waiting).toMatchObject({ state: 'Waiting', address: undefined });
    expect(waiting!.message).toContain('needs 1 GPU (h100-80gb); 0 of 2 GPUs');

    await scheduler.scale(a.deploymentId, 1);
    const [started] = await waitFor('b ready', async () => {
      const replicas = await scheduler.replicas(b.deploymentId);
      return replicas[0]?.readySince ? replicas : undefined;
    });
    const [kept] = await scheduler.replicas(a.deploymentId);
    expect(await cudaDevices(started!)).not.toBe(await cudaDevices(kept!));
  });

  it('hides every GPU from a replica that needs none', async () => {
    const { scheduler } = createTestScheduler({ gpuProbe: async () => TWO_GPUS });
    const spec = workerSpec();
    await scheduler.apply(spec);
    const [replica] = await waitFor('ready', async () => {
      const replicas = await scheduler.replicas(spec.deploymentId);
      return replicas[0]?.readySince ? replicas : undefined;
    });
    expect(await cudaDevices(replica!)).toBe('');
  });
});

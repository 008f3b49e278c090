import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogLine } from '../../../../src/scheduler/scheduler.js';
import {
  cleanupTestSchedulers,
  createTestScheduler,
  getJson,
  waitFor,
  waitForReady,
  workerSpec,
} from '../../../contracts/scheduler-support.js';

async function collect(batches: AsyncIterable<LogLine[]>): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const batch of batches) lines.push(...batch);
  return lines;
}

describe('LocalScheduler logs', () => {
  afterEach(cleanupTestSchedulers);

  it('serves each replica its own lines, and one replica alone when asked', async () => {
    const { scheduler } = createTestScheduler();
    const spec = workerSpec({ replicas: 2 });
    await scheduler.apply(spec);
    const replicas = await waitForReady(scheduler, spec.deploymentId, 2);
    for (const r of replicas) await getJson(r.address!.port, `/echo?line=${encodeURIComponent(`hello from ${r.replicaId}`)}`);
    const all = await collect(scheduler.logs(spec.deploymentId, {}));
    for (const r of replicas) expect(all).toContainEqual({ replicaId: r.replicaId, line: `hello from ${r.replicaId}` });
    const one = await collect(scheduler.logs(spec.deploymentId, { replicaId: replicas[1]!.replicaId }));
    expect(new Set(one.map((l) => l.replicaId))).toEqual(new Set([replicas[1]!.replicaId]));
  });

  it('keeps a replica log under its cap by rotation while the replica goes on writing', async () => {
    const { scheduler, dataDir } = createTestScheduler({ logCapBytes: 4096 });
    const spec = workerSpec();
    await scheduler.apply(spec);
    const [replica] = await waitForReady(scheduler, spec.deploymentId);
    const log = path.join(dataDir, 'replicas', replica!.replicaId, 'output.log');
    const port = replica!.address!.port;
    for (let i = 0; i < 120; i++) await getJson(port, `/echo?line=${'x'.repeat(60)}-${i}`);
    await waitFor('a rotation', () => existsSync(`${log}.1`) && statSync(log).size < 4096);
    await getJson(port, '/echo?line=after-rotation');
    const lines = await waitFor('the newest line', async () => {
      const got = (await collect(scheduler.logs(spec.deploymentId, {}))).map((l) => l.line);
      return got.includes('after-rotation') ? got : undefined;
    });
    expect(lines).toContain(`${'x'.repeat(60)}-119`);
    expect(statSync(`${log}.1`).size).toBeLessThan(4096 + 8192);
  });
});

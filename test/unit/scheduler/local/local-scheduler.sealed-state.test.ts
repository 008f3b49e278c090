import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/shared/logger.js';
import {
  cleanupTestSchedulers,
  createTestScheduler,
  getJson,
  waitForReady,
  workerSpec,
} from '../../../contracts/scheduler-support.js';

const SECRET = 'hf_sealed_8d1f0c2a9b7e';

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

function filesHolding(dataDir: string, text: string): string[] {
  return filesUnder(dataDir).filter((file) => readFileSync(file).includes(text));
}

/** A logger that keeps its lines, to check what a skipped file logs. */
function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
  return { logger: createLogger({ level: 'warn', destination }), lines };
}

/** Applies a spec with a secret, waits until it runs, and closes the scheduler (its state stays on disk). */
async function applyAndClose(sealKey: Buffer | undefined) {
  const first = createTestScheduler(sealKey ? { sealKey } : {});
  const spec = workerSpec({ secretEnv: { HF_TOKEN: SECRET } });
  await first.scheduler.apply(spec);
  await waitForReady(first.scheduler, spec.deploymentId);
  await first.scheduler.close();
  return { dataDir: first.dataDir, spec };
}

describe('LocalScheduler state files with a seal key', () => {
  afterEach(cleanupTestSchedulers);

  it('writes no secret value to any file under the data directory', async () => {
    const { scheduler, dataDir } = createTestScheduler({ sealKey: randomBytes(32) });
    const spec = workerSpec({ secretEnv: { HF_TOKEN: SECRET } });
    await scheduler.apply(spec);
    await waitForReady(scheduler, spec.deploymentId);
    expect(filesHolding(dataDir, 'secretEnvSealed')).toHaveLength(2); // the deployment's file and the replica's
    expect(filesHolding(dataDir, SECRET)).toEqual([]);
  });

  it('restarts replicas with their secret values under the same key', async () => {
    const sealKey = randomBytes(32);
    const { dataDir, spec } = await applyAndClose(sealKey);
    const second = createTestScheduler({ dataDir, sealKey });
    const [replica] = await waitForReady(second.scheduler, spec.deploymentId);
    const env = await getJson<Record<string, string>>(replica!.address!.port, '/env');
    expect(env.HF_TOKEN).toBe(SECRET);
    expect(filesHolding(dataDir, SECRET)).toEqual([]);
  });

  it('skips files sealed under another key as unreadable, and logs no value', async () => {
    const { dataDir, spec } = await applyAndClose(randomBytes(32));
    const { logger, lines } = recordingLogger();
    const second = createTestScheduler({ dataDir, sealKey: randomBytes(32), logger });
    await second.scheduler.start();
    expect(await second.scheduler.replicas(spec.deploymentId)).toEqual([]);
    const skipped = lines.filter((line) => line.includes('unreadable scheduler state file'));
    expect(skipped).toHaveLength(2);
    expect(skipped.every((line) => line.includes('UnsealError'))).toBe(true);
    expect(lines.join('')).not.toContain(SECRET);
  });

  it('skips sealed files when no key is given', async () => {
    const { dataDir, spec } = await applyAndClose(randomBytes(32));
    const second = createTestScheduler({ dataDir });
    await second.scheduler.start();
    expect(await second.scheduler.replicas(spec.deploymentId)).toEqual([]);
  });

  it('seals the plain files of a server that had no key, and restarts their replicas', async () => {
    const { dataDir, spec } = await applyAndClose(undefined);
    expect(filesHolding(dataDir, SECRET)).toHaveLength(2);
    const second = createTestScheduler({ dataDir, sealKey: randomBytes(32) });
    const [replica] = await waitForReady(second.scheduler, spec.deploymentId);
    expect(filesHolding(dataDir, SECRET)).toEqual([]);
    const env = await getJson<Record<string, string>>(replica!.address!.port, '/env');
    expect(env.HF_TOKEN).toBe(SECRET);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => createTestScheduler({ sealKey: randomBytes(16) })).toThrow(/32 bytes/);
  });
});

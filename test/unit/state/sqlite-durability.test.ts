import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../../src/state/sqlite/sqlite-store.js';
import { exited, killAfterAcks, spawnTs } from '../../helpers/spawn-ts.js';

const WRITER = 'test/fixtures/state-writer.ts';

function tempDb(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'gantry-durable-')), 'state.db');
}

/** Starts a writer and SIGKILLs it once it has acknowledged `acks` writes; returns the last acknowledged n. */
async function killWriterAfter(file: string, acks: number): Promise<number> {
  const { last, ended } = await killAfterAcks(WRITER, ['write', file], acks);
  expect(ended).toBe('SIGKILL');
  return last;
}

describe('SqliteStateStore durability', () => {
  it('keeps every acknowledged write after kill -9, across repeated kills', async () => {
    const file = tempDb();
    for (let round = 0; round < 3; round++) {
      const last = await killWriterAfter(file, 150);
      const store = new SqliteStateStore(file);
      const keys = new Set((await store.list('k/')).map((e) => e.key));
      await store.close();
      const lost = Array.from({ length: last + 1 }, (_, n) => `k/${n}`).filter((k) => !keys.has(k));
      expect(lost, `round ${round}: acknowledged up to k/${last}`).toEqual([]);
    }
  });

  it('loses no compare-and-set increment between processes sharing the file', async () => {
    const file = tempDb();
    await new SqliteStateStore(file).close(); // create the schema before the writers race
    const writers = Array.from({ length: 3 }, () => spawnTs(WRITER, ['increment', file, '40']));
    const codes = await Promise.all(writers.map(exited));
    expect(codes).toEqual([0, 0, 0]);
    const store = new SqliteStateStore(file);
    expect((await store.get('counter'))?.value).toBe('120');
    await store.close();
  });
});

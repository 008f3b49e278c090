import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { LocalSecretStore } from '../../src/secrets/local/local-secret-store.js';
import { systemClock } from '../../src/shared/clock.js';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-store.js';
import type { StateStore } from '../../src/state/state-store.js';
import { MemoryStateStore } from '../doubles/memory-state-store.js';
import { describeSecretStoreContract } from './secret-store.contract.js';

/** Every StateStore opened for the suite, closed (and its directory removed) at the end. */
const opened: Array<{ state: StateStore; dir?: string }> = [];
afterAll(async () => {
  for (const { state, dir } of opened) {
    await state.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

function localStoreOver(state: StateStore, dir?: string): LocalSecretStore {
  opened.push({ state, dir });
  return new LocalSecretStore(state, randomBytes(32), systemClock);
}

describeSecretStoreContract('local over the memory double', async () => localStoreOver(new MemoryStateStore()));

describeSecretStoreContract('local over sqlite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-secrets-'));
  return localStoreOver(new SqliteStateStore(path.join(dir, 'state.db')), dir);
});

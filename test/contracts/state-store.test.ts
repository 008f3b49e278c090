import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStateStore } from '../../src/state/sqlite/sqlite-store.js';
import { MemoryStateStore } from '../doubles/memory-state-store.js';
import { describeStateStoreContract } from './state-store.contract.js';

describeStateStoreContract('memory double', async () => new MemoryStateStore());

describeStateStoreContract('sqlite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-state-'));
  return new SqliteStateStore(path.join(dir, 'state.db'));
});

import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { secureDataDir } from '../../../src/startup/data-dir.js';
import { createLogger } from '../../../src/shared/logger.js';
import { createTestServer } from '../../helpers/test-server.js';

const modeOf = (file: string): string => (statSync(file).mode & 0o777).toString(8);

/**
 * Issue 15 item 9: the state database and its WAL/SHM were 0644 and `sdk/` 0755, safe only because a
 * new data directory was 0700, and an existing directory kept its mode. Run under umask 0 (the loosest)
 * in a data directory an older version left open.
 */
describe('data directory file modes (issue 15 item 9)', () => {
  let dir: string;
  let umask: number;

  beforeEach(() => {
    umask = process.umask(0);
    dir = mkdtempSync(path.join(tmpdir(), 'gantry-modes-'));
  });
  afterEach(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the state database, its WAL and SHM 0600 and every directory 0700 under umask 0', async () => {
    const dataDir = path.join(dir, 'fresh', '.gantry');
    const server = await createTestServer({ dataDir });
    try {
      await server.app.inject({ method: 'POST', url: '/v1/deployments/secrets', headers: server.auth, payload: { name: 's', value: 'v' } });
      for (const file of ['state.db', 'state.db-wal', 'state.db-shm', 'secrets.key', 'signing.key']) {
        expect(modeOf(path.join(dataDir, file)), file).toBe('600');
      }
      expect(modeOf(dataDir)).toBe('700');
      expect(modeOf(path.join(dir, 'fresh'))).toBe('700');
    } finally {
      await server.close();
    }
  });

  it('narrows an existing open directory and the files an older version left, and warns', async () => {
    const dataDir = path.join(dir, 'old');
    mkdirSync(path.join(dataDir, 'sdk', 'python', 'abc'), { recursive: true, mode: 0o755 });
    writeFileSync(path.join(dataDir, 'sdk', 'python', 'abc', 'sprocket.whl'), 'wheel', { mode: 0o644 });
    writeFileSync(path.join(dataDir, 'admin-key'), 'gantry_x\n', { mode: 0o644 });
    mkdirSync(path.join(dataDir, 'venv', 'bin'), { recursive: true, mode: 0o755 });
    writeFileSync(path.join(dataDir, 'venv', 'bin', 'python'), '#!', { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const lines: string[] = [];
    const server = await createTestServer({ dataDir, logger: createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(l) } }) });
    await server.close();
    expect(modeOf(dataDir)).toBe('700');
    expect(modeOf(path.join(dataDir, 'sdk'))).toBe('700');
    expect(modeOf(path.join(dataDir, 'sdk', 'python', 'abc', 'sprocket.whl'))).toBe('600');
    expect(modeOf(path.join(dataDir, 'admin-key'))).toBe('600');
    expect(modeOf(path.join(dataDir, 'venv', 'bin', 'python'))).toBe('700');
    const warning = lines.map((l) => JSON.parse(l) as { level: number; mode?: string }).find((l) => l.level === 40 && l.mode === '0755');
    expect(warning).toBeDefined();
  });

  it.skipIf(process.getuid?.() !== 0)('keeps group read on a tree handed to the replicas’ group, and takes every other bit away', () => {
    const dataDir = path.join(dir, 'shared');
    mkdirSync(path.join(dataDir, 'venvs', 'v1'), { recursive: true });
    writeFileSync(path.join(dataDir, 'venvs', 'v1', 'lib.py'), 'x');
    chmodSync(path.join(dataDir, 'venvs', 'v1'), 0o775);
    chmodSync(path.join(dataDir, 'venvs', 'v1', 'lib.py'), 0o666);
    chownSync(path.join(dataDir, 'venvs', 'v1'), 0, 64_000);
    chownSync(path.join(dataDir, 'venvs', 'v1', 'lib.py'), 0, 64_000);
    writeFileSync(path.join(dataDir, 'own.txt'), 'y', { mode: 0o664 });
    secureDataDir(dataDir);
    expect(modeOf(path.join(dataDir, 'venvs', 'v1'))).toBe('750');
    expect(modeOf(path.join(dataDir, 'venvs', 'v1', 'lib.py'))).toBe('640');
    expect(modeOf(path.join(dataDir, 'own.txt'))).toBe('600');
  });

  it('reports nothing for a directory that is already private', () => {
    const dataDir = path.join(dir, 'private');
    expect(secureDataDir(dataDir)).toEqual({ narrowed: 0 });
    expect(existsSync(dataDir)).toBe(true);
    expect(secureDataDir(dataDir)).toEqual({ narrowed: 0 });
  });
});

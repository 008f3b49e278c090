import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exited, spawnTs } from '../helpers/spawn-ts.js';

/** Runs `gantry <args>` with `env` added and no outside service configured; its exit code and stderr. */
async function gantry(args: string[], env: Record<string, string>): Promise<{ code: number | NodeJS.Signals; stderr: string }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-config-error-'));
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NOMAD|CONSUL|VAULT)_/.test(k)));
  const child = spawnTs('src/bin/gantry.ts', args, { env: { ...clean, GANTRY_DATA_DIR: dataDir, ...env } });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  const code = await exited(child);
  return { code, stderr };
}

describe('a configuration error, as the operator sees it', () => {
  it('prints every problem and exits 2, without a stack trace (NOMAD_ADDR without VAULT_ADDR)', async () => {
    const { code, stderr } = await gantry(['server', '--port', '0'], { NOMAD_ADDR: 'http://127.0.0.1:1' });
    expect(code).toBe(2);
    expect(stderr).toContain('gantry: invalid configuration:');
    expect(stderr).toContain('set VAULT_ADDR');
    expect(stderr).toContain('GANTRY_PUBLIC_URL must say');
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr).not.toContain('ConfigError');
  });

  it('does the same for a bad value read by `gantry keys`', async () => {
    const { code, stderr } = await gantry(['keys', 'list'], { GANTRY_PORT: 'abc' });
    expect(code).toBe(2);
    expect(stderr).toContain('environment variable GANTRY_PORT: expected a number (got "abc")');
    expect(stderr).not.toMatch(/^\s+at /m);
  });
});

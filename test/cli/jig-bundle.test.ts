import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

/** The shipped `jig` is one esbuild bundle (package.json "bin"); it must run like the sources do. */
describe('the bundled jig', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jig-bundle-'));
  const bundle = path.join(dir, 'jig.mjs');

  it('builds, lists its commands and fails a missing key with the launcher message', () => {
    const built = spawnSync(process.execPath, ['scripts/build-jig.mjs', bundle], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    const help = spawnSync(process.execPath, [bundle, '--help'], { encoding: 'utf8' });
    for (const command of ['deploy', 'status', 'submit', 'secrets', 'volumes']) expect(help.stdout).toContain(command);
    writeFileSync(path.join(dir, 'jig.toml'), 'name = "demo"\n');
    const run = spawnSync(process.execPath, [bundle, 'status'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      'The api key must be set either by passing --api-key to the command or by setting the TOGETHER_API_KEY environment variable',
    );
  }, 60_000);
});

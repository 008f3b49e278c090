import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { envScript, findExecutable, Sandbox } from '../../../../src/scheduler/local/sandbox.js';
import { assertRunnable } from '../../../../src/scheduler/local/validate.js';
import { UnsupportedSpecError } from '../../../../src/scheduler/scheduler.js';
import { workerSpec } from '../../../contracts/scheduler-support.js';

const dataDir = () => mkdtempSync(path.join(tmpdir(), 'gantry-sandbox-'));

describe('Sandbox where it cannot be had', () => {
  it('says bwrap is missing, and apply refuses every spec naming the opt-out', async () => {
    const sandbox = new Sandbox({ mode: 'bwrap', dataDir: dataDir(), bwrapBin: 'gantry-no-such-bwrap' });
    expect(await sandbox.unavailableReason()).toMatch(/bubblewrap \(bwrap\) is not installed/);
    const refused = assertRunnable(workerSpec(), sandbox);
    await expect(refused).rejects.toThrow(UnsupportedSpecError);
    await expect(refused).rejects.toThrow(/GANTRY_SANDBOX=none/);
  });

  it('tests again after a failure, so bubblewrap installed later works at the next deploy', async () => {
    const bin = path.join(dataDir(), 'bwrap');
    const sandbox = new Sandbox({ mode: 'bwrap', dataDir: dataDir(), bwrapBin: bin });
    expect(await sandbox.unavailableReason()).toMatch(/not installed/);
    symlinkSync(execFileSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).trim(), bin); // "apt-get install bubblewrap"
    expect(await sandbox.unavailableReason()).toBeUndefined();
    await expect(assertRunnable(workerSpec(), sandbox)).resolves.toBeUndefined();
  });

  it('with GANTRY_SANDBOX=none runs specs without volumes, and says the sandbox is off', async () => {
    const sandbox = new Sandbox({ mode: 'none', dataDir: dataDir() });
    expect(await sandbox.unavailableReason()).toMatch(/turned off/);
    await expect(assertRunnable(workerSpec(), sandbox)).resolves.toBeUndefined();
  });
});

describe('envScript', () => {
  it('exports every variable with its value quoted for sh, quotes included, and skips impossible names', () => {
    const script = envScript({ A: "it's", B: 'x\ny', 'NOT-A-NAME': 'v' });
    expect(script).toBe("export A='it'\\''s'\nexport B='x\ny'\n");
  });
});

describe('findExecutable', () => {
  it('finds a command on PATH or as a path from the project, and nothing else', () => {
    expect(findExecutable('sh', '/', '/nonexistent:/bin:/usr/bin')).toBe(true);
    expect(findExecutable(process.execPath, '/', undefined)).toBe(true);
    expect(findExecutable('gantry-no-such-command', '/', '/bin:/usr/bin')).toBe(false);
    expect(findExecutable('', '/', '/bin')).toBe(false);
  });
});

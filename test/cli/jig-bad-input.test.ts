import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runJig, type JigRun } from '../helpers/run-jig.js';

/** Bad input gets one clear line and a non-zero exit, never a stack trace (issue 6). */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jig-bad-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const GOOD = '[project]\nname = "demo"\n[tool.jig.image]\ncmd = "python3 app.py"\ncopy = ["app.py"]\n';
const UNREACHABLE = { TOGETHER_API_KEY: 'gantry_test', TOGETHER_BASE_URL: 'https://127.0.0.1:9/v1' };

function expectOneLine(run: JigRun, pattern: RegExp): void {
  expect(run.code).not.toBe(0);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr + run.stdout).not.toMatch(/\n\s+at /);
}

describe('jig on bad input', () => {
  it('names file, line and column of malformed TOML', async () => {
    const run = await runJig(['status'], { cwd: project({ 'pyproject.toml': '[tool.jig]\nname = "x\n' }), env: UNREACHABLE });
    expectOneLine(run, /^Jig: Failed Invalid pyproject\.toml:2:\d+: /);
  });

  it('names file, line and key path of a wrong type', async () => {
    const run = await runJig(['status'], { cwd: project({ 'pyproject.toml': `${GOOD}[tool.jig.deploy]\ngpu_count = "2"\n` }), env: UNREACHABLE });
    expectOneLine(run, /^Jig: Failed Invalid pyproject\.toml:7: tool\.jig\.deploy\.gpu_count: expected int, got "2"$/);
  });

  it("refuses copy = ['.']", async () => {
    const run = await runJig(['dockerfile'], { cwd: project({ 'pyproject.toml': GOOD.replace('["app.py"]', '["."]') }), env: UNREACHABLE });
    expectOneLine(run, /^Jig: Failed Copying '\.' is not allowed\. Please enumerate specific files$/);
  });

  it('refuses environment variables that collide with secrets, naming each', async () => {
    const dir = project({
      'pyproject.toml': `${GOOD}[tool.jig.deploy.environment_variables]\nHF_TOKEN = "x"\nMODE = "fast"\nTOGETHER_API_KEY = "y"\n`,
      '.jig.json': JSON.stringify({ demo: { registry_base_path: '', secrets: { HF_TOKEN: 'demo-HF_TOKEN', TOGETHER_API_KEY: 'demo-TOGETHER_API_KEY' } } }),
    });
    const run = await runJig(['deploy', '--image', 'registry.example.com/demo:1'], { cwd: dir, env: UNREACHABLE });
    expectOneLine(run, /^Jig: Failed environment_variables collide with secrets: HF_TOKEN, TOGETHER_API_KEY /);
  });

  it('says how to set a missing API key', async () => {
    const run = await runJig(['status'], { cwd: project({ 'pyproject.toml': GOOD }), env: { TOGETHER_BASE_URL: UNREACHABLE.TOGETHER_BASE_URL } });
    expectOneLine(run, /^The api key must be set either by passing --api-key to the command or by setting the TOGETHER_API_KEY environment variable$/);
  });

  it('names an unreachable server', async () => {
    const run = await runJig(['status'], { cwd: project({ 'pyproject.toml': GOOD }), env: UNREACHABLE });
    expectOneLine(run, /^Jig: Failed Cannot reach https:\/\/127\.0\.0\.1:9: ECONNREFUSED/);
  });

  it('shows the stack trace of an unexpected failure only with TOGETHER_DEBUG', async () => {
    const run = await runJig(['status'], { cwd: project({ 'pyproject.toml': GOOD }), env: { ...UNREACHABLE, TOGETHER_DEBUG: 'true' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ConnectionError: Cannot reach .*\n\s+at /);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(/^Jig: Failed Cannot reach /);
  });

  it('fails without a config file, saying how to name one', async () => {
    const run = await runJig(['status'], { cwd: project({}), env: UNREACHABLE });
    expectOneLine(run, /^Jig: Failed No pyproject\.toml or jig\.toml found, use --config to specify a config path$/);
  });

  it('warns about an unknown key in one line and carries on', async () => {
    const dir = project({ 'pyproject.toml': `${GOOD}[tool.jig.deploy]\nmin_replica = 0\n`, 'app.py': '' });
    const run = await runJig(['dockerfile'], { cwd: dir, env: UNREACHABLE });
    expect(run.code).toBe(0);
    expect(run.stderr.trim()).toBe('\u26a0 Unknown key tool.jig.deploy.min_replica in pyproject.toml:7 (ignored)');
    expect(run.stdout).toContain('\u2713 Generated Dockerfile');
  });
});

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requirementName, withoutSprocket } from '../../../../src/scheduler/local/venv.js';
import {
  cleanupTestSchedulers,
  createTestScheduler,
  getJson,
  PYTHON_WORKER,
  waitFor,
  waitForReason,
  workerSpec,
} from '../../../contracts/scheduler-support.js';

describe('requirementName', () => {
  it.each([
    ['sprocket', 'sprocket'],
    ['Sprocket>=0.1', 'sprocket'],
    ['sprocket[torch] == 0.1.4 ; python_version >= "3.10"', 'sprocket'],
    ['  torch==2.3', 'torch'],
    ['Pillow_SIMD.fork~=9', 'pillow-simd-fork'],
    ['sprocket-extras', 'sprocket-extras'],
  ])('reads %j as %j', (requirement, name) => {
    expect(requirementName(requirement)).toBe(name);
  });
});

describe('withoutSprocket', () => {
  it('drops every sprocket requirement and keeps the rest in order', () => {
    const deps = ['torch>=2', 'sprocket', 'Sprocket[all]>=0.1', 'sprocket-extras==1', 'numpy'];
    expect(withoutSprocket(deps)).toEqual(['torch>=2', 'sprocket-extras==1', 'numpy']);
  });
});

describe('LocalScheduler Python projects', () => {
  let wheelDir: string;
  let wheel: string;

  beforeAll(() => {
    wheelDir = mkdtempSync(path.join(tmpdir(), 'gantry-wheel-'));
    wheel = execFileSync('python3', [path.join(PYTHON_WORKER, 'make_wheel.py'), wheelDir], { encoding: 'utf8' }).trim();
  });
  afterAll(() => rmSync(wheelDir, { recursive: true, force: true }));
  afterEach(cleanupTestSchedulers);

  const pythonSpec = () =>
    workerSpec({
      source: { path: PYTHON_WORKER, cmd: ['python', 'app.py'], python: true, dependencies: ['sprocket>=0.1'] },
      healthCheckPath: '/health',
    });

  it('runs the project in a virtualenv holding the extra packages instead of PyPI sprocket', async () => {
    const { scheduler, dataDir } = createTestScheduler({ extraPythonPackages: [wheel] });
    const spec = pythonSpec();
    const seen: Array<string | undefined> = [];
    await scheduler.apply(spec);
    const [replica] = await waitFor(
      'ready',
      async () => {
        const replicas = await scheduler.replicas(spec.deploymentId);
        seen.push(replicas[0]?.reason);
        return replicas[0]?.readySince ? replicas : undefined;
      },
      60_000,
    );
    expect(seen).toContain('ContainerCreating');
    const answer = await getJson<{ prefix: string; value: string }>(replica!.address!.port, '/health');
    expect(answer.value).toBe('fixture-ok');
    expect(answer.prefix.startsWith(path.join(dataDir, 'venvs'))).toBe(true);
  });

  it('waits with pip output in the message when pip fails, and says when it retries', async () => {
    const missing = path.join(wheelDir, 'gantry_missing-1.0-py3-none-any.whl');
    const { scheduler, tokens } = createTestScheduler({ extraPythonPackages: [missing] });
    const spec = pythonSpec();
    await scheduler.apply(spec);
    const [replica] = await waitForReason(scheduler, spec.deploymentId, 'CreateContainerError', 60_000);
    expect(replica).toMatchObject({ state: 'Waiting', address: undefined });
    expect(replica!.message).toMatch(/pip install failed/);
    expect(replica!.message).toContain('gantry_missing-1.0-py3-none-any.whl');
    expect(replica!.message).toMatch(/retrying in \d/);
    expect(tokens.issued).toEqual([]); // nothing ran, so no token was handed out
  });

  it("builds packages in the sandbox: a package's build code cannot read the data directory, nor run as root", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-sched-'));
    const secret = path.join(dataDir, 'admin-key');
    writeFileSync(secret, 'gantry_build_time_secret\n', { mode: 0o600 });
    const probe = path.join(wheelDir, 'probe-pkg');
    mkdirSync(probe, { recursive: true });
    writeFileSync(
      path.join(probe, 'setup.py'),
      [
        'import os',
        'try:',
        `    r = open(${JSON.stringify(secret)}).read()`,
        'except Exception as e:',
        '    r = type(e).__name__',
        'raise SystemExit(f"probe uid={os.getuid()} datadir={r}")',
        '',
      ].join('\n'),
    );
    const { scheduler } = createTestScheduler({ dataDir, extraPythonPackages: [probe] });
    const spec = workerSpec({ source: { path: PYTHON_WORKER, cmd: ['python', 'app.py'], python: true, dependencies: [] } });
    await scheduler.apply(spec);
    const [replica] = await waitForReason(scheduler, spec.deploymentId, 'CreateContainerError', 90_000);
    const said = /probe uid=(\d+) datadir=(\S+)/.exec(replica!.message ?? '');
    expect(said, replica!.message).not.toBeNull();
    expect(said![2]).not.toContain('gantry_build_time_secret');
    expect(said![2]).toMatch(/FileNotFoundError|PermissionError/);
    if (process.getuid?.() === 0) expect(Number(said![1])).not.toBe(0);
  });
});

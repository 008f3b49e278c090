import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PythonSdkWheel } from '../../../src/sdk-index/python-wheel.js';
import { normalizeProjectName, projectPage, rootPage } from '../../../src/sdk-index/simple-index.js';
import { createLogger } from '../../../src/shared/logger.js';

/**
 * A stand-in interpreter for `python3 -m pip wheel … --wheel-dir DIR SRC`: it logs each call and writes
 * a wheel named after SRC's version, or fails with a message when SRC holds a file named FAIL. The
 * setuptools probe (`-c …`) succeeds when a file named HAS_SETUPTOOLS sits beside it.
 */
const FAKE_PYTHON = `#!/bin/sh
if [ "$1" = "-c" ]; then test -f "$(dirname "$0")/HAS_SETUPTOOLS"; exit $?; fi
echo "$@" >> "$(dirname "$0")/calls.log"
while [ "$1" != "--wheel-dir" ]; do shift; done
dir="$2"; src="$3"
if [ -f "$src/sprocket/FAIL.py" ]; then echo "error: no setuptools in this sandbox" >&2; exit 1; fi
sleep 0.2
mkdir -p "$dir"
version=$(sed -n 's/^version = "\\(.*\\)"/\\1/p' "$src/pyproject.toml")
printf 'PK-fake-%s' "$version" > "$dir/sprocket-$version-py3-none-any.whl"
`;

describe('PythonSdkWheel', () => {
  let root: string;
  let sdkDir: string;
  let python: string;
  let wheel: PythonSdkWheel;

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'gantry-wheel-'));
    sdkDir = path.join(root, 'sdk');
    mkdirSync(path.join(sdkDir, 'sprocket'), { recursive: true });
    mkdirSync(path.join(sdkDir, '.venv'));
    writeFileSync(path.join(sdkDir, 'pyproject.toml'), '[project]\nname = "sprocket"\nversion = "1.0"\nrequires-python = ">=3.10"\n');
    writeFileSync(path.join(sdkDir, 'sprocket', '__init__.py'), '__gantry__ = True\n');
    writeFileSync(path.join(sdkDir, '.venv', 'ignored.py'), 'not a source\n');
    python = path.join(root, 'python');
    writeFileSync(python, FAKE_PYTHON);
    chmodSync(python, 0o755);
    wheel = new PythonSdkWheel({ sdkDir, cacheDir: path.join(root, 'cache'), pythonBin: python, logger: createLogger({ level: 'silent' }) });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const calls = () => readFileSync(path.join(root, 'calls.log'), 'utf8').trim().split('\n');

  it('builds once for concurrent callers, from a copy of the sources, and serves the cache afterwards', async () => {
    const [a, b] = await Promise.all([wheel.get(), wheel.get()]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ filename: 'sprocket-1.0-py3-none-any.whl', requiresPython: '>=3.10' });
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(calls()).toHaveLength(1);
    expect(calls()[0]).toContain('-m pip wheel --no-deps');
    expect(calls()[0]).not.toContain('--no-build-isolation'); // no usable setuptools: pip's isolated build
    expect(calls()[0]).not.toContain(sdkDir); // built from a copy: nothing is written into the SDK
    const again = new PythonSdkWheel({ sdkDir, cacheDir: path.join(root, 'cache'), pythonBin: python, logger: createLogger({ level: 'silent' }) });
    expect(await again.get()).toEqual(a);
    expect(calls()).toHaveLength(1);
  });

  it('rebuilds when a source file changes, not when a non-source file does', async () => {
    const first = await wheel.get();
    writeFileSync(path.join(sdkDir, '.venv', 'ignored.py'), 'changed\n');
    expect(await new PythonSdkWheel({ sdkDir, cacheDir: path.join(root, 'cache'), pythonBin: python, logger: createLogger({ level: 'silent' }) }).get()).toEqual(first);
    writeFileSync(path.join(sdkDir, 'pyproject.toml'), '[project]\nname = "sprocket"\nversion = "1.1"\n');
    const second = await new PythonSdkWheel({ sdkDir, cacheDir: path.join(root, 'cache'), pythonBin: python, logger: createLogger({ level: 'silent' }) }).get();
    expect(second.filename).toBe('sprocket-1.1-py3-none-any.whl');
    expect(second.requiresPython).toBeUndefined();
    expect(calls()).toHaveLength(2);
  });

  it('reports a failed build with pip\'s message, and tries again on the next call', async () => {
    writeFileSync(path.join(sdkDir, 'sprocket', 'FAIL.py'), '');
    await expect(wheel.get()).rejects.toThrow(/pip wheel" failed for .*no setuptools in this sandbox/);
    rmSync(path.join(sdkDir, 'sprocket', 'FAIL.py'));
    expect((await wheel.get()).filename).toBe('sprocket-1.0-py3-none-any.whl');
    expect(calls()).toHaveLength(2);
  });

  it('builds without isolation (offline) when the interpreter has a setuptools that builds wheels', async () => {
    writeFileSync(path.join(root, 'HAS_SETUPTOOLS'), '');
    await wheel.get();
    expect(calls()[0]).toContain('--no-build-isolation');
  });

  it('names a missing interpreter', async () => {
    const missing = new PythonSdkWheel({ sdkDir, cacheDir: path.join(root, 'cache'), pythonBin: path.join(root, 'nope'), logger: createLogger({ level: 'silent' }) });
    await expect(missing.get()).rejects.toThrow(/nope -m pip wheel" failed/);
  });
});

describe('the simple index pages', () => {
  it('normalises project names as PEP 503 says', () => {
    expect(normalizeProjectName('Sprocket')).toBe('sprocket');
    expect(normalizeProjectName('my_._Pkg--x')).toBe('my-pkg-x');
  });

  it('links the wheel relative to the project page, escaped, with its digest and Python requirement', () => {
    expect(rootPage()).toContain('<a href="sprocket/">sprocket</a>');
    const page = projectPage({ filename: 'sprocket-0.1.4+gantry.1-py3-none-any.whl', path: '/x', sha256: 'ab'.repeat(32), requiresPython: '>=3.10' });
    expect(page).toContain(`<a href="sprocket-0.1.4%2Bgantry.1-py3-none-any.whl#sha256=${'ab'.repeat(32)}" data-requires-python="&gt;=3.10">sprocket-0.1.4+gantry.1-py3-none-any.whl</a>`);
  });
});

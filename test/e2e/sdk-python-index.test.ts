import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const run = promisify(execFile);

/**
 * `pip install --index-url <gantry>/v1/sdk/python/ sprocket` over HTTPS (the local CA trusted with
 * `--cert`) installs Gantry's sprocket into a fresh virtualenv (compat.md §8.30). Its dependencies
 * (httpx, orjson, starlette, uvicorn) come from PyPI, named as an extra index; PyPI's unrelated
 * `sprocket` (0.1) is there too, and Gantry's (0.1.4+gantry.N) must win.
 */
describe('pip installs sprocket from the index a real server serves', () => {
  let server: ServerProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gantry-e2e-pip-'));
    server = await startServerProcess(path.join(dir, 'data'));
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs Gantry\'s package, not PyPI\'s sprocket', async () => {
    const venv = path.join(dir, 'venv');
    await run('python3', ['-m', 'venv', '--without-pip', venv]);
    const pip = ['-m', 'pip', '--python', path.join(venv, 'bin', 'python'), 'install', '--disable-pip-version-check'];
    const bundle = await trustBundle(server.caFile!, dir);
    await run('python3', [...pip, '--cert', bundle, '--index-url', `${server.url}/v1/sdk/python/`, '--extra-index-url', 'https://pypi.org/simple', 'sprocket'], {
      timeout: 240_000,
      env: pipEnv(bundle),
    });
    const { stdout } = await run(path.join(venv, 'bin', 'python'), ['-c', 'import importlib.metadata as m, sprocket; print(sprocket.__gantry__, m.version("sprocket"))'], {
      cwd: dir,
    });
    expect(stdout.trim()).toMatch(/^True 0\.1\.4\+gantry\.\d+$/);
  }, 300_000);
});

/**
 * The environment without the machine's pip settings (extra find-links could supply another sprocket),
 * and with the bundle also in the variables `requests` prefers over pip's `--cert` when they are set.
 */
/** pip's own CA bundle (for PyPI) plus Gantry's local CA (for the index). */
async function trustBundle(caFile: string, dir: string): Promise<string> {
  const { stdout } = await run('python3', ['-c', 'import pip._vendor.certifi as c; print(c.where())']);
  const bundle = path.join(dir, 'bundle.pem');
  writeFileSync(bundle, `${readFileSync(stdout.trim(), 'utf8')}\n${readFileSync(caFile, 'utf8')}`);
  return bundle;
}

function pipEnv(caFile: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PIP_')));
  return { ...env, PIP_CONFIG_FILE: '/dev/null', REQUESTS_CA_BUNDLE: caFile, CURL_CA_BUNDLE: caFile };
}

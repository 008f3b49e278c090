import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GantryApiDouble } from '../doubles/gantry-api-double.js';
import { runJig } from '../helpers/run-jig.js';

/**
 * `jig build|push|deploy` against a recording stand-in for the `docker` client (no engine here): each call
 * appends `{argv, buildkit, stdin}` as one JSON line; `docker inspect` answers with a registry digest.
 */
const DIGEST = 'sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
const STAND_IN = `#!/usr/bin/env node
const fs = require('node:fs');
const stdin = process.argv[2] === 'login' || process.argv.includes('-') ? fs.readFileSync(0, 'utf8') : '';
fs.appendFileSync(process.env.DOCKER_LOG, JSON.stringify({ argv: process.argv.slice(2), buildkit: process.env.DOCKER_BUILDKIT, stdin }) + '\\n');
if (process.argv[2] === 'run') {
  // the warmup container: fill the bind-mounted cache directory as a compile would
  const mount = process.argv[process.argv.indexOf('-v') + 1].split(':')[0];
  fs.writeFileSync(require('node:path').join(mount, 'torch_cache', 'kernel.bin'), 'cache');
}
if (process.argv[2] === 'inspect') console.log(JSON.stringify(['registry.example.com/team/demo@${DIGEST}']));
`;

interface DockerCall {
  argv: string[];
  buildkit: string | undefined;
  stdin: string;
}

function setup(pyproject: string): { dir: string; bin: string; log: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'jig-docker-'));
  const bin = path.join(root, 'bin');
  const dir = path.join(root, 'demo');
  for (const d of [bin, dir]) mkdirSync(d);
  writeFileSync(path.join(bin, 'docker'), STAND_IN);
  chmodSync(path.join(bin, 'docker'), 0o755);
  writeFileSync(path.join(dir, 'pyproject.toml'), pyproject);
  writeFileSync(path.join(dir, 'app.py'), 'print("hi")\n');
  return { dir, bin, log: path.join(root, 'docker.log') };
}

function dockerCalls(log: string): DockerCall[] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DockerCall) : [];
}

const PYPROJECT = '[project]\nname = "demo"\ndependencies = ["sprocket"]\n[tool.jig.image]\ncmd = "python3 app.py --queue"\ncopy = ["app.py"]\n[tool.jig.deploy]\ngpu_type = "none"\ngpu_count = 0\n';

describe('jig build, push and deploy with the docker client', () => {
  let api: GantryApiDouble;
  afterEach(async () => api.close());

  describe('against a cluster (images)', () => {
    beforeEach(async () => {
      api = new GantryApiDouble({ scheduler: 'nomad', loginWithApiKey: true });
      await api.start();
    });

    it('builds, logs in, pushes, pins latest to its digest and deploys that', async () => {
      const { dir, bin, log } = setup(PYPROJECT);
      const env = { PATH: `${bin}:${process.env.PATH}`, DOCKER_LOG: log, TOGETHER_API_KEY: 'gantry_secret_key', TOGETHER_BASE_URL: api.url };
      const run = await runJig(['deploy'], { cwd: dir, env });
      expect(run.code, run.stderr + run.stdout).toBe(0);
      const calls = dockerCalls(log);
      expect(calls.map((c) => c.argv)).toEqual([
        ['build', '--platform', 'linux/amd64', '-t', 'registry.example.com/team/demo:latest', '.'],
        ['login', 'registry.example.com', '--username', 'user', '--password-stdin'],
        ['push', 'registry.example.com/team/demo:latest'],
        ['inspect', '--format={{json .RepoDigests}}', 'registry.example.com/team/demo:latest'],
      ]);
      expect(calls.every((c) => c.buildkit === '1')).toBe(true);
      expect(calls[1]!.stdin).toBe('gantry_secret_key');
      expect(run.stdout + run.stderr).not.toContain('gantry_secret_key');
      expect(api.deployments.get('demo')).toMatchObject({ image: `registry.example.com/team/demo@${DIGEST}` });
      expect(api.deployments.get('demo')).not.toHaveProperty('x_gantry_source');
      expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toContain(`--extra-index-url ${api.url}/sdk/python/`);
      expect(JSON.parse(readFileSync(path.join(dir, '.jig.json'), 'utf8'))).toEqual({
        demo: { registry_base_path: 'registry.example.com/team', secrets: { TOGETHER_API_KEY: 'demo-TOGETHER_API_KEY' } },
      });
    });

    it('builds a tag with a custom Dockerfile path and extra arguments, and deploys the tag unpinned', async () => {
      const { dir, bin, log } = setup(PYPROJECT.replace('copy = ["app.py"]', 'copy = ["app.py"]\ndockerfile_path = "build/Dockerfile.jig"'));
      mkdirSync(path.join(dir, 'build'));
      const env = { PATH: `${bin}:${process.env.PATH}`, DOCKER_LOG: log, TOGETHER_API_KEY: 'k', TOGETHER_BASE_URL: api.url };
      const run = await runJig(['deploy', '--tag', 'v2', '--docker-args', '--build-arg MODE=fast --no-cache'], { cwd: dir, env });
      expect(run.code, run.stderr + run.stdout).toBe(0);
      expect(dockerCalls(log)[0]!.argv).toEqual([
        'build', '--platform', 'linux/amd64', '-t', 'registry.example.com/team/demo:v2', '.', '-f', 'build/Dockerfile.jig', '--build-arg', 'MODE=fast', '--no-cache',
      ]);
      expect(dockerCalls(log).map((c) => c.argv[0])).toEqual(['build', 'login', 'push']);
      expect(api.deployments.get('demo')).toMatchObject({ image: 'registry.example.com/team/demo:v2' });
    });

    it('leaves an unmanaged Dockerfile alone and says so', async () => {
      const { dir, bin, log } = setup(PYPROJECT);
      writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
      const env = { PATH: `${bin}:${process.env.PATH}`, DOCKER_LOG: log, TOGETHER_API_KEY: 'k', TOGETHER_BASE_URL: api.url, DOCKER_BUILD_EXTRA_ARGS: '--pull' };
      const run = await runJig(['build'], { cwd: dir, env });
      expect(run.stdout).toContain('\u2139 Using existing Dockerfile (not managed by jig)');
      expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toBe('FROM scratch\n');
      expect(dockerCalls(log)[0]!.argv.slice(-1)).toEqual(['--pull']);
    });
  });

  describe('--warmup', () => {
    beforeEach(async () => {
      api = new GantryApiDouble({ scheduler: 'nomad' });
      await api.start();
    });

    it('runs the image once to fill the cache, then rebuilds the same tag with it baked in', async () => {
      const { dir, bin, log } = setup(PYPROJECT);
      const env = { PATH: `${bin}:${process.env.PATH}`, DOCKER_LOG: log, TOGETHER_API_KEY: 'k', TOGETHER_BASE_URL: api.url };
      const run = await runJig(['build', '--warmup'], { cwd: dir, env });
      expect(run.code, run.stderr + run.stdout).toBe(0);
      const [, warm, final] = dockerCalls(log);
      const uid = `${process.getuid!()}:${process.getgid!()}`;
      expect(warm!.argv).toEqual([
        'run', '--rm', '--gpus', 'all', '--user', uid, '-e', 'RUN_AND_EXIT=1', '-e', 'TORCHINDUCTOR_CACHE_DIR=/app/torch_cache',
        '-e', 'TOGETHER_DEPLOYMENT_NAME=demo', '-v', `${dir}:/app`, 'registry.example.com/team/demo:latest',
      ]);
      expect(final!.argv).toEqual(['build', '--platform', 'linux/amd64', '-t', 'registry.example.com/team/demo:latest', '-f', '-', '.']);
      expect(final!.stdin).toBe('FROM registry.example.com/team/demo:latest\nCOPY torch_cache /app/torch_cache\nENV TORCHINDUCTOR_CACHE_DIR=/app/torch_cache');
      expect(run.stdout).toContain('\u2713 Warmup complete, 1 cache files generated');
      expect(run.stdout).toContain('\u2713 Final image with cache built');
    });
  });

  describe('against the embedded default (no container engine)', () => {
    beforeEach(async () => {
      api = new GantryApiDouble({ scheduler: 'local' });
      await api.start();
    });

    it('sends the project directory, skips build and push, and says so in one line', async () => {
      const { dir, bin, log } = setup(PYPROJECT);
      const env = { PATH: `${bin}:${process.env.PATH}`, DOCKER_LOG: log, TOGETHER_API_KEY: 'k', TOGETHER_BASE_URL: api.url };
      const run = await runJig(['deploy'], { cwd: dir, env });
      expect(run.code, run.stderr + run.stdout).toBe(0);
      expect(dockerCalls(log)).toEqual([]);
      expect(run.stdout.split('\n').filter((l) => l.includes('build and push skipped'))).toHaveLength(1);
      expect(api.deployments.get('demo')).toMatchObject({ image: 'local/demo', x_gantry_source: { path: dir, config: 'pyproject.toml' } });
      expect(api.calls()).not.toContain('GET /image-repositories/base-path');
    });
  });
});

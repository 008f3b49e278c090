import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GantryApiDouble } from '../doubles/gantry-api-double.js';
import { runJig } from '../helpers/run-jig.js';

const PYPROJECT = '[project]\nname = "demo"\n[tool.jig.image]\ncmd = "python3 app.py"\n[tool.jig.deploy]\ngpu_type = "none"\ngpu_count = 0\n';

function project(files: Record<string, string> = { 'pyproject.toml': PYPROJECT }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jig-cmd-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('jig commands against an API double', () => {
  let api: GantryApiDouble | undefined;
  afterEach(async () => api?.close());

  async function start(options: ConstructorParameters<typeof GantryApiDouble>[0] = { scheduler: 'nomad' }): Promise<Record<string, string>> {
    api = new GantryApiDouble(options);
    return { TOGETHER_API_KEY: 'gantry_cmd_key', TOGETHER_BASE_URL: await api.start() };
  }

  it('init writes the starter project once', async () => {
    const dir = project({});
    const first = await runJig(['init'], { cwd: dir });
    expect(first.stdout).toBe("\u2713 Created pyproject.toml\n  Edit the configuration and run 'jig deploy'\n");
    expect(readFileSync(path.join(dir, 'pyproject.toml'), 'utf8')).toContain('[tool.jig.deploy]\ndescription = "My model deployment"');
    expect((await runJig(['init'], { cwd: dir })).stdout).toBe('pyproject.toml already exists\n');
  });

  it('deploys a given image with --detach, printing the deployment, and stores the key as a secret', async () => {
    const env = await start();
    const run = await runJig(['deploy', '--image', 'vllm/vllm-openai:v0.17.1', '--detach'], { cwd: project(), env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Deploying provided image vllm/vllm-openai:v0.17.1');
    expect(run.stdout).toContain('\u2713 Created secret TOGETHER_API_KEY');
    expect(run.stdout).toContain('\u2713 Deployed: demo');
    expect(run.stdout).toContain('"status": "Ready"');
    expect(api!.calls()).toContain('POST /deployments/secrets');
    expect(api!.requests.find((r) => r.url === '/v1/deployments/secrets')!.body).toEqual({ name: 'demo-TOGETHER_API_KEY', value: 'gantry_cmd_key', description: 'Auth key for queue API' });
    expect(run.stdout).not.toContain('gantry_cmd_key');
  });

  it('updates an existing deployment with PATCH', async () => {
    const env = await start();
    const dir = project();
    await runJig(['deploy', '--image', 'img:1'], { cwd: dir, env });
    const second = await runJig(['deploy', '--image', 'img:2'], { cwd: dir, env });
    expect(second.stdout).toContain('\u2713 Applied new deployment configuration');
    expect(api!.deployments.get('demo')).toMatchObject({ image: 'img:2' });
  });

  it('turns a taken name into the uniqueness tip', async () => {
    const env = await start({ scheduler: 'nomad', nameTaken: true });
    const run = await runJig(['deploy', '--image', 'img:1'], { cwd: project(), env });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('Jig: Failed Deployment name must be unique. Tip: update `project.name` in your pyproject.toml');
  });

  it('prints the deploy body with TOGETHER_DEBUG, without any secret value', async () => {
    const env = await start();
    const run = await runJig(['deploy', '--image', 'img:1'], { cwd: project(), env: { ...env, TOGETHER_DEBUG: '1' } });
    expect(run.stdout).toContain('"value_from_secret": "demo-TOGETHER_API_KEY"');
    expect(run.stdout).not.toContain('gantry_cmd_key');
  });

  it('stops after the build with --build-only (and pushes, as the original)', async () => {
    const env = await start();
    const dir = project();
    const bin = mkdtempSync(path.join(tmpdir(), 'jig-bin-'));
    writeFileSync(path.join(bin, 'docker'), '#!/bin/sh\n[ "$1" = inspect ] && echo \'["registry.example.com/team/demo@sha256:ab"]\'\nexit 0\n', { mode: 0o755 });
    const run = await runJig(['deploy', '--build-only'], { cwd: dir, env: { ...env, PATH: `${bin}:${process.env.PATH}` } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('\u2713 Build complete (--build-only)');
    expect(api!.deployments.size).toBe(0);
    expect(existsSync(path.join(dir, 'Dockerfile'))).toBe(true);
  });

  it('fails a failed build with one line', async () => {
    const env = await start();
    const bin = mkdtempSync(path.join(tmpdir(), 'jig-bin-'));
    writeFileSync(path.join(bin, 'docker'), '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    const run = await runJig(['build'], { cwd: project(), env: { ...env, PATH: `${bin}:${process.env.PATH}` } });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('Jig: Failed Build failed');
  });

  it('needs --prompt or --payload to submit', async () => {
    const env = await start();
    const run = await runJig(['submit'], { cwd: project(), env });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('Jig: Failed Either --prompt or --payload required');
  });

  it('reads the legacy flat .jig.json and migrates it on save', async () => {
    const env = await start();
    const dir = project({ 'pyproject.toml': PYPROJECT, '.jig.json': JSON.stringify({ secrets: { TOGETHER_API_KEY: 'demo-TOGETHER_API_KEY' }, other: { secrets: {} } }) });
    const run = await runJig(['secrets', 'unset', 'TOGETHER_API_KEY'], { cwd: dir, env });
    expect(run.stdout).toContain('\u2713 Removed secret TOGETHER_API_KEY from the deployment');
    expect(JSON.parse(readFileSync(path.join(dir, '.jig.json'), 'utf8'))).toEqual({ other: { secrets: {} }, demo: { registry_base_path: '', secrets: {} } });
  });

  it('accepts --config before the command, as the old global form', async () => {
    const dir = project({ 'staging.toml': 'name = "staging-demo"\n' });
    const env = await start();
    const run = await runJig(['--config', 'staging.toml', 'endpoint'], { cwd: dir, env });
    expect(run.stdout.trim()).toBe(`${env.TOGETHER_BASE_URL}/deployment-request/staging-demo`);
    const after = await runJig(['endpoint', '-c', 'staging.toml'], { cwd: dir, env });
    expect(after.stdout).toBe(run.stdout);
  });
});

describe('jig volumes create against an API double', () => {
  let api: GantryApiDouble;
  afterEach(async () => api.close());

  async function env(failUploads: boolean): Promise<Record<string, string>> {
    api = new GantryApiDouble({ scheduler: 'nomad', failUploads });
    return { TOGETHER_API_KEY: 'k', TOGETHER_BASE_URL: await api.start() };
  }

  function withPantry(): string {
    const dir = project();
    mkdirSync(path.join(dir, 'pantry'));
    writeFileSync(path.join(dir, 'pantry', 'curry.txt'), 'curry');
    return dir;
  }

  it('deletes the new volume again when its upload fails', async () => {
    const run = await runJig(['volumes', 'create', '--name', 'pantry', '--source', 'pantry'], { cwd: withPantry(), env: await env(true) });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('\u2717 Upload failed: storage is unavailable');
    expect(run.stdout).toContain('\u{1F5D1} Cleaning up volume pantry');
    expect(api.calls()).toContain('DELETE /deployments/storage/volumes/pantry');
    expect(api.volumes.size).toBe(0);
  }, 60_000);

  it('points to update when the volume exists, and refuses a source that is not a directory', async () => {
    const dir = withPantry();
    const e = await env(false);
    api.volumes.set('pantry', { name: 'pantry' });
    const clash = await runJig(['volumes', 'create', 'pantry', 'pantry'], { cwd: dir, env: e });
    expect(clash.stderr.trim()).toBe("Jig: Failed Volume pantry already exists, use 'jig volumes update' instead");
    const notDir = await runJig(['volumes', 'create', '--name', 'other', '--source', 'pyproject.toml'], { cwd: dir, env: e });
    expect(notDir.stderr.trim()).toBe('Jig: Failed Not a directory: pyproject.toml');
  });
});

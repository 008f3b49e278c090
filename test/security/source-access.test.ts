import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { exited, REPO_ROOT, spawnTs } from '../helpers/spawn-ts.js';

/**
 * Issue 15.1, first half, replayed over real HTTPS against a real server process: a user key naming a
 * directory of its choosing (`/tmp/x` with an `app.py`) to run it as the server's user, and
 * `x_gantry_source.config` used to read files of the data directory (the admin key) through parse errors.
 */

const WORKER = path.join(REPO_ROOT, 'test/fixtures/replicas/http-worker/server.mjs');

interface ApiError {
  error: { message: string; code: string; param?: string };
}

/** A project directory a replica can run: the fixture HTTP worker and an app.py, readable by anyone. */
function project(parent: string, name: string): string {
  const dir = path.join(parent, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(WORKER, path.join(dir, 'server.mjs'));
  writeFileSync(path.join(dir, 'app.py'), 'import os\nprint(open(os.environ["HOME"] + "/../../../admin-key").read())\n');
  chmodSync(dir, 0o755);
  return dir;
}

async function createKey(dataDir: string, name: string, flags: string[] = []): Promise<string> {
  const child = spawnTs('src/bin/gantry.ts', ['keys', 'create', '--name', name, '--json', ...flags], {
    env: { ...process.env, GANTRY_DATA_DIR: dataDir },
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  expect(await exited(child)).toBe(0);
  return (JSON.parse(out) as { key: string }).key;
}

describe('who may name a local source (x_gantry_source), over HTTPS', () => {
  const base = realpathSync(mkdtempSync(path.join(tmpdir(), 'gantry-sec-source-')));
  const dataDir = path.join(base, 'data');
  const roots = path.join(base, 'allowed');
  const attacker = project(base, 'x');
  const allowed = project(roots, 'team-app');
  const linked = project(roots, 'linked');
  let server: ServerProcess;
  let admin: string;
  let user: string;
  let flagged: string;

  beforeAll(async () => {
    mkdirSync(roots, { recursive: true });
    server = await startServerProcess(dataDir, { GANTRY_SOURCE_ROOTS: roots });
    admin = server.printedAdminKey!;
    user = await createKey(dataDir, 'plain-user');
    flagged = await createKey(dataDir, 'ci', ['--allow-local-source']);
  }, 90_000);
  afterAll(async () => server?.stop());

  const body = (name: string, source: Record<string, string>) => ({
    name,
    image: `local/${name}`,
    gpu_type: 'none',
    health_check_path: '',
    x_gantry_source: { cmd: `${process.execPath} server.mjs`, ...source },
  });
  const post = (key: string, name: string, source: Record<string, string>) =>
    callApi<ApiError>(server, key, 'POST', '/v1/deployments', body(name, source));
  const names = async () =>
    (await callApi<{ data: Array<{ name: string }> }>(server, admin, 'GET', '/v1/deployments')).json.data.map((d) => d.name);

  it('refuses a user key naming /tmp/x, says which settings allow it, and creates nothing', async () => {
    const refused = await post(user, 'attack', { path: attacker });
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatchObject({ code: 'GANTRY_ERR_SOURCE_FORBIDDEN', param: 'x_gantry_source.path' });
    expect(refused.json.error.message).toContain('GANTRY_SOURCE_ROOTS');
    expect(refused.json.error.message).toContain('--allow-local-source');
    expect(await names()).not.toContain('attack');
  });

  it('refuses ".." and a symbolic link out of an allowed root', async () => {
    symlinkSync(attacker, path.join(roots, 'link-out'));
    for (const p of [path.join(roots, 'link-out'), `${roots}/../x`]) {
      expect((await post(user, 'escape', { path: p })).status).toBe(403);
    }
    expect(await names()).not.toContain('escape');
  });

  it('refuses a config pointing at <datadir>/admin-key without echoing its content or a parse error', async () => {
    const adminKey = readFileSync(path.join(dataDir, 'admin-key'), 'utf8').trim();
    symlinkSync(path.join(dataDir, 'admin-key'), path.join(linked, 'jig.toml'));
    const attempts: Array<{ key: string; source: Record<string, string> }> = [
      { key: admin, source: { path: attacker, config: path.join(dataDir, 'admin-key') } },
      { key: admin, source: { path: attacker, config: path.relative(attacker, path.join(dataDir, 'admin-key')) } },
      { key: user, source: { path: allowed, config: '../../data/admin-key' } },
      // A config inside the project that links to the key: still never parsed.
      { key: user, source: { path: linked } },
    ];
    for (const { key, source } of attempts) {
      const refused = await post(key, 'oracle', source);
      expect(refused.status).toBe(400);
      const text = JSON.stringify(refused.json);
      expect(text).not.toContain(adminKey);
      expect(text).not.toContain(adminKey.slice(0, 12));
      expect(refused.json.error.message).toMatch(/^x_gantry_source\.(config|path): must name a file inside the project directory /);
      expect(refused.json.error.message).not.toMatch(/TOML|invalid|expected|:\d+:\d+/i);
    }
    // A missing file outside answers exactly like an existing one: no existence oracle either.
    const missing = await post(admin, 'oracle', { path: attacker, config: path.join(dataDir, 'no-such-file') });
    const existing = await post(admin, 'oracle', { path: attacker, config: path.join(dataDir, 'admin-key') });
    expect(missing).toEqual(existing);
  });

  it('accepts a user key under an allowed root, and a key made with --allow-local-source anywhere', async () => {
    const underRoot = await post(user, 'team-app', { path: allowed });
    expect([underRoot.status, underRoot.json]).toEqual([200, expect.objectContaining({ name: 'team-app' })]);
    const anywhere = await post(flagged, 'ci-app', { path: attacker });
    expect([anywhere.status, anywhere.json]).toEqual([200, expect.objectContaining({ name: 'ci-app' })]);
    expect(await names()).toEqual(expect.arrayContaining(['team-app', 'ci-app']));
  });

  it('lets the admin key name any directory, as `jig deploy` does', async () => {
    const created = await post(admin, 'admins', { path: attacker });
    expect(created.status).toBe(200);
  });

  it('applies the same rule to PATCH: a user key may change other fields, not name a source', async () => {
    const moved = await callApi<ApiError>(server, user, 'PATCH', '/v1/deployments/team-app', { x_gantry_source: { path: attacker } });
    expect(moved.status).toBe(403);
    expect(moved.json.error.code).toBe('GANTRY_ERR_SOURCE_FORBIDDEN');
    const onAdmins = await callApi<ApiError>(server, user, 'PATCH', '/v1/deployments/admins', { x_gantry_source: { path: attacker } });
    expect(onAdmins.status).toBe(403);
    const described = await callApi(server, user, 'PATCH', '/v1/deployments/admins', { description: 'scaled by a user' });
    expect(described.status).toBe(200);
    const flaggedMove = await callApi(server, flagged, 'PATCH', '/v1/deployments/ci-app', { x_gantry_source: { path: allowed } });
    expect(flaggedMove.status).toBe(200);
  });
});

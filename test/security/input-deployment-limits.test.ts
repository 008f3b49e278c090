import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_VALUE_BYTES } from '../../src/state/state-store.js';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

/** Issue 15 item 5: deployments the caller got wrong are 4xx naming the field, never a 500. */
describe('deployment input that used to answer 500', () => {
  let server: TestServer;
  let project: string;
  beforeAll(async () => {
    server = await createTestServer();
    project = mkdtempSync(path.join(tmpdir(), 'gantry-src-'));
    writeFileSync(path.join(project, 'app.py'), 'print("hi")\n');
  });
  afterAll(async () => {
    await server.close();
    rmSync(project, { recursive: true, force: true });
  });

  const create = (body: Record<string, unknown>) =>
    server.app.inject({ method: 'POST', url: '/v1/deployments', headers: server.auth, payload: { image: 'img', gpu_type: 'none', ...body } });
  const stored = async () => (await server.app.inject({ url: '/v1/deployments', headers: server.auth })).json().data as unknown[];

  it.each(['python "app.py', "python 'app.py", 'python app.py \\'])('refuses x_gantry_source.cmd %j with 400 naming the field', async (cmd) => {
    const res = await create({ name: 'src', x_gantry_source: { path: project, cmd } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'GANTRY_ERR_REQUEST_INVALID', param: 'x_gantry_source.cmd' });
  });

  it('refuses an unbalanced quote in the config file command with 400 naming the config', async () => {
    writeFileSync(path.join(project, 'jig.toml'), '[image]\ncmd = "python \'app.py"\n');
    const res = await create({ name: 'src', x_gantry_source: { path: project } });
    rmSync(path.join(project, 'jig.toml'));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'GANTRY_ERR_REQUEST_INVALID', param: 'x_gantry_source.config' });
  });

  it('refuses 10,000 environment variables with 413 naming the field and the limit', async () => {
    const env = Array.from({ length: 10_000 }, (_, i) => ({ name: `VAR_${i}`, value: 'v'.repeat(20) }));
    const res = await create({ name: 'envs', environment_variables: env });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatchObject({ code: 'GANTRY_ERR_REQUEST_TOO_LARGE', param: 'environment_variables' });
    expect(res.json().error.message).toContain(String(MAX_VALUE_BYTES));
  });

  it('refuses a 500 KB command with 413 naming the field, on create and on update', async () => {
    const command = ['x'.repeat(500_000)];
    const created = await create({ name: 'cmd', command });
    expect(created.statusCode).toBe(413);
    expect(created.json().error).toMatchObject({ code: 'GANTRY_ERR_REQUEST_TOO_LARGE', param: 'command' });
    expect((await create({ name: 'cmd' })).statusCode).toBe(200);
    const patched = await server.app.inject({ method: 'PATCH', url: '/v1/deployments/cmd', headers: server.auth, payload: { command } });
    expect(patched.statusCode).toBe(413);
    expect(patched.json().error.param).toBe('command');
  });

  it('stored nothing for the refused requests and stays healthy', async () => {
    const names = (await stored()).map((d) => (d as { name: string }).name);
    expect(names).toEqual(['cmd']);
    const view = (await server.app.inject({ url: '/v1/deployments/cmd', headers: server.auth })).json();
    expect(view.command ?? []).toEqual([]);
    expect((await server.app.inject({ url: '/health' })).statusCode).toBe(200);
  });
});

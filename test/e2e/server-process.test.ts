import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Together from 'together-ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/spawn-ts.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const run = promisify(execFile);

/** The official npm client, pointed at Gantry by base URL, trusting Gantry's CA through its fetch. */
function togetherClient(server: ServerProcess, apiKey: string): Together {
  return new Together({ apiKey, baseURL: `${server.url}/v1`, fetch: server.fetch as never, maxRetries: 0 });
}

describe('gantry server as a real process, driven by the official together-ai client', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-e2e-'));
  let server: ServerProcess;
  let adminKey: string;

  beforeAll(async () => {
    server = await startServerProcess(dataDir);
    adminKey = server.printedAdminKey!;
  });
  afterAll(async () => {
    if (server.child.exitCode === null) await server.stop();
  });

  it('serves HTTPS from its own CA and prints the admin key once, saved 0600', () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(adminKey).toMatch(/^gantry_/);
    expect(server.caFile).toBe(path.join(dataDir, 'tls', 'ca.pem'));
    const keyFile = path.join(dataDir, 'admin-key');
    expect(readFileSync(keyFile, 'utf8').trim()).toBe(adminKey);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  it('answers whoami through the official client', async () => {
    const whoami = await togetherClient(server, adminKey).get<Record<string, unknown>>('/whoami');
    expect(whoami.project_id).toMatch(/^proj_/);
  });

  it('runs secrets CRUD unchanged through the official client', async () => {
    const client = togetherClient(server, adminKey);
    const created = await client.beta.jig.secrets.create({ name: 'e2e-HF_TOKEN', value: 'hf_abc123', description: 'd' });
    expect(created).toMatchObject({ name: 'e2e-HF_TOKEN', object: 'secret', description: 'd' });
    expect(JSON.stringify(created)).not.toContain('hf_abc123');
    const updated = await client.beta.jig.secrets.update('e2e-HF_TOKEN', { value: 'hf_new', description: 'd2' });
    expect(updated.description).toBe('d2');
    expect((await client.beta.jig.secrets.retrieve(created.id!)).name).toBe('e2e-HF_TOKEN');
    const listed = await client.beta.jig.secrets.list();
    expect(listed.data?.map((s) => s.name)).toContain('e2e-HF_TOKEN');
    await client.beta.jig.secrets.create({ name: 'e2e-TEMP', value: 'x' });
    await client.beta.jig.secrets.delete('e2e-TEMP');
    await expect(client.beta.jig.secrets.retrieve('e2e-TEMP')).rejects.toMatchObject({ status: 404 });
  });

  it('refuses a bad key through the official client with a 401', async () => {
    await expect(togetherClient(server, 'gantry_wrong').beta.jig.secrets.list()).rejects.toMatchObject({ status: 401 });
  });

  it('stores a file through a signed upload URL and serves it back with the key', async () => {
    const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const ask = await server.fetch(`${server.url}/v1/storage/upload-request`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ filename: 'e2e/hello.txt' }),
    });
    const { upload_url } = (await ask.json()) as { upload_url: { url: string; method: string } };
    expect(upload_url.method).toBe('PUT');
    const put = await server.fetch(upload_url.url, { method: 'PUT', body: 'hello from e2e' });
    expect(put.status).toBe(200);
    const got = await server.fetch(`${server.url}/v1/storage/e2e/hello.txt`, { headers: auth });
    expect(await got.text()).toBe('hello from e2e');
  });

  it('works with NODE_EXTRA_CA_CERTS and TOGETHER_BASE_URL alone, as the README says', async () => {
    const script = `
      import Together from 'together-ai';
      const client = new Together();
      const list = await client.beta.jig.secrets.list();
      console.log(JSON.stringify(list.data.map((s) => s.name)));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_EXTRA_CA_CERTS: server.caFile,
        TOGETHER_BASE_URL: `${server.url}/v1`,
        TOGETHER_API_KEY: adminKey,
      },
    });
    expect(JSON.parse(stdout)).toContain('e2e-HF_TOKEN');
  });

  it('keeps keys, secrets and files across a restart, and prints the key only the first time', async () => {
    expect(await server.stop()).toBe(0);
    server = await startServerProcess(dataDir);
    expect(server.printedAdminKey).toBeUndefined();
    expect(server.output()).toContain(path.join(dataDir, 'admin-key'));
    const client = togetherClient(server, adminKey);
    expect((await client.beta.jig.secrets.retrieve('e2e-HF_TOKEN')).description).toBe('d2');
    const got = await server.fetch(`${server.url}/v1/storage/e2e/hello.txt`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(await got.text()).toBe('hello from e2e');
  });

  it('keeps what it acknowledged across kill -9', async () => {
    const client = togetherClient(server, adminKey);
    await client.beta.jig.secrets.create({ name: 'e2e-AFTER_KILL', value: 'v' });
    expect(await server.kill()).toBe('SIGKILL');
    server = await startServerProcess(dataDir);
    const names = (await togetherClient(server, adminKey).beta.jig.secrets.list()).data?.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['e2e-HF_TOKEN', 'e2e-AFTER_KILL']));
  });
});

describe('gantry server start-up refusals', () => {
  it('stops with a message naming the variable when a setting is bad', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-bad-'));
    await expect(startServerProcess(dataDir, { GANTRY_MAX_PAYLOAD_BYTES: 'lots' })).rejects.toThrow(
      /GANTRY_MAX_PAYLOAD_BYTES/,
    );
  });
});

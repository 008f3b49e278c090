import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, spawnTs } from '../helpers/spawn-ts.js';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

async function gantry(args: string[], dataDir: string): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawnTs('src/bin/gantry.ts', args, { env: { ...process.env, GANTRY_DATA_DIR: dataDir } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return { code: await exited(child), stdout, stderr };
}

describe('gantry keys', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-keys-'));
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer({ dataDir });
  });
  afterAll(async () => server.close());

  const whoami = (key: string) =>
    server.app.inject({ url: '/v1/whoami', headers: { authorization: `Bearer ${key}` } }).then((r) => r.statusCode);

  it('creates a key that the running server accepts at once, and revokes it', async () => {
    const created = await gantry(['keys', 'create', '--name', 'ci-bot', '--json'], dataDir);
    expect(created.code).toBe(0);
    const { key, id, role } = JSON.parse(created.stdout) as { key: string; id: string; role: string };
    expect(role).toBe('user');
    expect(await whoami(key)).toBe(200);

    const listed = await gantry(['keys', 'list'], dataDir);
    expect(listed.stdout).toContain('ci-bot');
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).not.toContain(key);

    const revoked = await gantry(['keys', 'revoke', 'ci-bot'], dataDir);
    expect(revoked.code).toBe(0);
    expect(await whoami(key)).toBe(401);
  });

  it('fails with one clear line for an unknown key and for a bad role', async () => {
    const unknown = await gantry(['keys', 'revoke', 'nobody'], dataDir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toMatch(/^gantry: cannot revoke key "nobody"/);
    const badRole = await gantry(['keys', 'create', '--name', 'x', '--role', 'root'], dataDir);
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toContain('--role');
  });
});

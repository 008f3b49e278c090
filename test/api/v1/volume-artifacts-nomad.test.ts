import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { buildDeps } from '../../../src/deps.js';
import { buildServer, type ServerDeps } from '../../../src/server.js';
import { createLogger } from '../../../src/shared/logger.js';
import { MemoryWorkloadSecrets } from '../../doubles/nomad/memory-workload-secrets.js';
import { NomadDouble } from '../../doubles/nomad/nomad-double.js';
import { FakeClock } from '../../helpers/test-server.js';

const HOUR_MS = 3_600_000;

/**
 * Volume artifacts of a Nomad job are fetched whenever Nomad places an allocation, possibly days after the
 * job was registered: their URLs must outlive the signed-URL TTL, grant only their file, and die with the
 * deployment.
 */
describe('volume artifact URLs of Nomad jobs (server against the Nomad double, fake clock)', () => {
  let nomad: NomadDouble;
  let app: FastifyInstance;
  let deps: ServerDeps;
  let dataDir: string;
  let auth: { authorization: string };
  let clock: FakeClock;

  beforeEach(async () => {
    nomad = new NomadDouble({ token: 'nomad-mgmt-token', heartbeatMs: 200 });
    await nomad.start();
    clock = new FakeClock();
    dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-volume-urls-'));
    const env = {
      GANTRY_DATA_DIR: dataDir, GANTRY_INSECURE_HTTP: '1', NOMAD_ADDR: nomad.url, NOMAD_TOKEN: 'nomad-mgmt-token',
      GANTRY_PUBLIC_URL: 'https://gantry.example.com', GANTRY_SIGNED_URL_TTL_SECONDS: '3600',
    };
    deps = await buildDeps(loadConfig({ env }), { logger: createLogger({ level: 'silent' }), workloadSecrets: new MemoryWorkloadSecrets(), clock });
    auth = { authorization: `Bearer ${(await deps.keys.createKey('admin', 'admin')).key}` };
    app = buildServer(deps);
    await app.ready();
    for (const part of deps.lifecycle) await part.start?.();
  });

  afterEach(async () => {
    await app.close();
    for (const part of [...deps.lifecycle].reverse()) await part.close?.();
    await deps.state.close();
    await nomad.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) {
    const res = await app.inject({ method, url, headers: auth, ...(payload ? { payload: payload as object } : {}) });
    return { status: res.statusCode, body: (res.body ? JSON.parse(res.body) : {}) as Record<string, unknown> };
  }

  async function upload(file: string, text: string): Promise<void> {
    const asked = await call('POST', '/v1/storage/upload-request', { filename: file });
    const url = new URL((asked.body as { upload_url: { url: string } }).upload_url.url);
    expect((await app.inject({ method: 'PUT', url: url.pathname + url.search, payload: text })).statusCode).toBe(200);
  }

  /** GET of an artifact URL as Nomad's go-getter would send it: no key, the URL as rendered. */
  async function fetchArtifact(source: string): Promise<{ status: number; body: string; code?: string }> {
    const url = new URL(source);
    const res = await app.inject({ method: 'GET', url: url.pathname + url.search });
    return { status: res.statusCode, body: res.body, ...(res.statusCode === 200 ? {} : { code: (res.json() as { error: { code: string } }).error.code }) };
  }

  const artifactsOf = (registration = -1) => nomad.registered.at(registration)!.Job.TaskGroups[0]!.Tasks[0]!.Artifacts!;

  async function deployWithPantry(): Promise<string> {
    await upload('pantry/0/curry.txt', 'cumin');
    await upload('pantry/0/menu/pasta.txt', 'penne');
    await upload('pantry/1/curry.txt', 'turmeric');
    await upload('private/notes.txt', 'not part of any volume');
    expect((await call('POST', '/v1/deployments/storage/volumes', { name: 'pantry', type: 'readOnly', content: { type: 'files', source_prefix: 'pantry/0' } })).status).toBe(200);
    const created = await call('POST', '/v1/deployments', {
      name: 'chat', image: 'registry.example.com/chat:1', gpu_type: 'none', gpu_count: 0, volumes: [{ name: 'pantry', mount_path: '/pantry' }],
    });
    expect(created.status).toBe(200);
    return created.body.id as string;
  }

  it('keeps serving an allocation placed long after the signed-URL TTL, while a plain signed URL expires', async () => {
    await deployWithPantry();
    const plain = new URL(await deps.storage.createDownloadUrl('pantry/0/curry.txt', 'https://gantry.example.com'));
    clock.advance(3 * 24 * HOUR_MS);
    expect((await fetchArtifact(plain.toString())).code).toBe('GANTRY_ERR_STORAGE_URL_EXPIRED');
    const fetched = await Promise.all(artifactsOf().map(async (a) => [a.RelativeDest, await fetchArtifact(a.GetterSource)] as const));
    expect(Object.fromEntries(fetched.map(([dest, res]) => [dest, [res.status, res.body]]))).toEqual({
      'local/volumes/pantry/curry.txt': [200, 'cumin'],
      'local/volumes/pantry/menu/pasta.txt': [200, 'penne'],
    });
    for (const a of artifactsOf()) expect(a.GetterSource).not.toMatch(/Expires/i);
  });

  it('grants exactly its own file of its own volume version to its own deployment', async () => {
    await deployWithPantry();
    const curry = new URL(artifactsOf().find((a) => a.RelativeDest.endsWith('curry.txt'))!.GetterSource);
    const variants = {
      'another file of the version': (u: URL) => (u.pathname = u.pathname.replace('curry.txt', 'menu/pasta.txt')),
      'the same file of another version': (u: URL) => (u.pathname = u.pathname.replace('pantry/0/', 'pantry/1/')),
      'a file outside the volume': (u: URL) => (u.pathname = '/v1/storage/private/notes.txt'),
      'another version number': (u: URL) => u.searchParams.set('X-Gantry-Version', '1'),
      'another deployment': (u: URL) => u.searchParams.set('X-Gantry-Deployment', 'dep_someone_else'),
      'another volume': (u: URL) => u.searchParams.set('X-Gantry-Volume', 'vol_00000000000000000000000000000000'),
      'a forged signature': (u: URL) => u.searchParams.set('X-Gantry-Signature', Buffer.alloc(32, 7).toString('base64url')),
    };
    for (const [what, change] of Object.entries(variants)) {
      const url = new URL(curry);
      change(url);
      expect([what, (await fetchArtifact(url.toString())).code]).toEqual([what, 'GANTRY_ERR_STORAGE_BAD_SIGNATURE']);
    }
    expect((await fetchArtifact(curry.toString())).body).toBe('cumin');
  });

  it('follows a new volume version in a redeploy, and stops working once the deployment is destroyed', async () => {
    await deployWithPantry();
    const before = artifactsOf()[0]!.GetterSource;
    expect((await call('PATCH', '/v1/deployments/storage/volumes/pantry', { content: { type: 'files', source_prefix: 'pantry/1' } })).status).toBe(200);
    expect((await call('PATCH', '/v1/deployments/chat', { volumes: [{ name: 'pantry', mount_path: '/pantry', version: 1 }] })).status).toBe(200);
    const after = artifactsOf();
    expect(after.map((a) => a.RelativeDest)).toEqual(['local/volumes/pantry/curry.txt']);
    expect(await fetchArtifact(after[0]!.GetterSource)).toMatchObject({ status: 200, body: 'turmeric' });
    clock.advance(2 * HOUR_MS);
    expect((await fetchArtifact(before)).status).toBe(200);
    expect((await call('DELETE', '/v1/deployments/chat')).status).toBe(200);
    for (const source of [before, after[0]!.GetterSource]) {
      expect(await fetchArtifact(source)).toMatchObject({ status: 403, code: 'GANTRY_ERR_STORAGE_URL_REVOKED' });
    }
  });

  it('serves the version as it was frozen at deploy: a later upload under the same name changes nothing', async () => {
    await deployWithPantry();
    await upload('pantry/0/curry.txt', 'replaced after the deploy');
    await upload('pantry/0/injected.py', 'a file added after the deploy');
    const fetched = await Promise.all(artifactsOf().map(async (a) => [a.RelativeDest, (await fetchArtifact(a.GetterSource)).body] as const));
    expect(Object.fromEntries(fetched)).toEqual({ 'local/volumes/pantry/curry.txt': 'cumin', 'local/volumes/pantry/menu/pasta.txt': 'penne' });
    // A redeploy of the same version (a new revision) lists the same frozen files.
    expect((await call('PATCH', '/v1/deployments/chat', { env_vars: [{ name: 'A', value: '1' }] })).status).toBe(200);
    expect(artifactsOf().map((a) => a.RelativeDest)).toEqual(['local/volumes/pantry/curry.txt', 'local/volumes/pantry/menu/pasta.txt']);
  });
});

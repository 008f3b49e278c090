import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { buildDeps } from '../../../src/deps.js';
import { buildServer, type ServerDeps } from '../../../src/server.js';
import { createLogger } from '../../../src/shared/logger.js';
import { MemoryWorkloadSecrets } from '../../doubles/nomad/memory-workload-secrets.js';
import { NomadDouble } from '../../doubles/nomad/nomad-double.js';
import { waitFor } from '../../contracts/scheduler-support.js';

interface View {
  id: string;
  status: string;
  revision_id: string;
  replica_events: Record<string, { revision_id: string; replica_status: string; replica_status_reason?: string; image: string }>;
}

/** The server in cluster mode (NOMAD_ADDR) against the Nomad double, with in-memory workload secrets. */
describe('deployments on Nomad (server against the Nomad double)', () => {
  let nomad: NomadDouble;
  let secrets: MemoryWorkloadSecrets;
  let app: FastifyInstance;
  let deps: ServerDeps;
  let dataDir: string;
  let auth: { authorization: string };

  beforeEach(async () => {
    nomad = new NomadDouble({ token: 'nomad-mgmt-token', heartbeatMs: 200 });
    await nomad.start();
    secrets = new MemoryWorkloadSecrets();
    dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-nomad-'));
    const env = { GANTRY_DATA_DIR: dataDir, GANTRY_INSECURE_HTTP: '1', NOMAD_ADDR: nomad.url, NOMAD_TOKEN: 'nomad-mgmt-token', GANTRY_PUBLIC_URL: 'https://gantry.example.com' };
    deps = await buildDeps(loadConfig({ env }), { logger: createLogger({ level: 'silent' }), workloadSecrets: secrets });
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
    return { status: res.statusCode, body: (res.body ? JSON.parse(res.body) : {}) as View };
  }

  const deployment = () => call('GET', '/v1/deployments/chat').then((r) => r.body);
  const until = (what: string, probe: (d: View) => unknown) =>
    waitFor(what, async () => {
      const d = await deployment();
      return probe(d) ? d : undefined;
    }, 15_000);

  it('deploys, rolls a new revision, shows a crash loop, scales and destroys, never sending a secret to Nomad', async () => {
    expect((await call('POST', '/v1/deployments/secrets', { name: 'chat-HF_TOKEN', value: 'hf_top_secret_value' })).status).toBe(200);
    const created = await call('POST', '/v1/deployments', {
      name: 'chat', image: 'registry.example.com/chat:1', gpu_type: 'h100-80gb', gpu_count: 1, min_replicas: 1, max_replicas: 3,
      environment_variables: [{ name: 'HF_TOKEN', value_from_secret: 'chat-HF_TOKEN' }, { name: 'MODE', value: 'fast' }],
    });
    expect(created.status).toBe(200);
    const first = await until('Ready', (d) => d.status === 'Ready');
    expect(nomad.registered[0]!.Job).toMatchObject({ ID: 'gantry-chat', Meta: { gantry_deployment: created.body.id, gantry_revision: created.body.revision_id } });

    const updated = await call('PATCH', '/v1/deployments/chat', { image: 'registry.example.com/chat:2' });
    expect(updated.body.revision_id).not.toBe(first.revision_id);
    const rolled = await until('the new revision Ready', (d) => d.status === 'Ready' && Object.values(d.replica_events).every((e) => e.revision_id === updated.body.revision_id));
    expect(Object.values(rolled.replica_events)[0]).toMatchObject({ image: 'registry.example.com/chat:2', replica_status: 'Running' });

    const [alloc] = nomad.live('gantry-chat');
    for (let i = 0; i < 3; i++) nomad.restart(alloc!.ID, 1);
    const looping = await until('CrashLoopBackOff', (d) => d.replica_events[alloc!.ID]?.replica_status_reason === 'CrashLoopBackOff');
    expect(looping.status).toBe('Failed');

    expect((await call('PATCH', '/v1/deployments/chat', { min_replicas: 2, max_replicas: 3 })).status).toBe(200);
    await waitFor('two allocations', () => nomad.live('gantry-chat').length === 2);

    const everySecret = [...secrets.values()];
    expect(everySecret.length).toBeGreaterThanOrEqual(2);
    expect((await call('DELETE', '/v1/deployments/chat')).status).toBe(200);
    expect(nomad.cluster.getJob('default', 'gantry-chat')).toBeUndefined();
    expect(secrets.entries.size).toBe(0);

    const sent = JSON.stringify(nomad.registered);
    expect(sent).not.toContain('hf_top_secret_value');
    for (const value of everySecret) expect(sent).not.toContain(value);
    expect(nomad.registered.length).toBeGreaterThanOrEqual(2);
    expect((await deps.keys.list()).filter((k) => k.role === 'worker')).toEqual([]);
  });

  it('delivers the worker token only through the workload secrets, scoped to the deployment', async () => {
    await call('POST', '/v1/deployments', { name: 'chat', image: 'registry.example.com/chat:1', gpu_type: 'none', gpu_count: 0 });
    const env = secrets.entries.get('secret/data/default/gantry-chat/env')!;
    const principal = await deps.keys.verify(env.TOGETHER_API_KEY!);
    expect(principal).toMatchObject({ kind: 'worker', deploymentId: (await deployment()).id, replicaId: undefined });
    for (const value of secrets.values()) expect(JSON.stringify(nomad.registered)).not.toContain(value);
  });
  it('revokes the worker token of an old revision once none of its allocations runs, and keeps the current one', async () => {
    await call('POST', '/v1/deployments', { name: 'chat', image: 'registry.example.com/chat:1', gpu_type: 'none', gpu_count: 0 });
    await until('Ready', (d) => d.status === 'Ready');
    const tokenNow = () => secrets.entries.get('secret/data/default/gantry-chat/env')!.TOGETHER_API_KEY!;
    const first = tokenNow();
    const updated = await call('PATCH', '/v1/deployments/chat', { image: 'registry.example.com/chat:2' });
    await until('the new revision Ready', (d) => d.status === 'Ready' && Object.values(d.replica_events).every((e) => e.revision_id === updated.body.revision_id));
    await waitFor('the old token revoked', async () => (await deps.keys.verify(first)) === undefined);
    expect(await deps.keys.verify(tokenNow())).toMatchObject({ kind: 'worker', deploymentId: updated.body.id });
    expect((await deps.keys.list()).filter((k) => k.role === 'worker')).toEqual([expect.objectContaining({ revision_id: updated.body.revision_id })]);
  });

  it('binds a claim to the allocation named by the worker’s hostname and releases it when the allocation fails', async () => {
    await call('POST', '/v1/deployments', { name: 'chat', image: 'registry.example.com/chat:1', gpu_type: 'none', gpu_count: 0 });
    await until('Ready', (d) => d.status === 'Ready');
    const [alloc] = nomad.live('gantry-chat');
    const token = secrets.entries.get('secret/data/default/gantry-chat/env')!.TOGETHER_API_KEY!;
    const submitted = (await call('POST', '/v1/queue/submit', { model: 'chat', payload: { n: 1 } })).body as unknown as { request_id: string };
    const worker = { authorization: `Bearer ${token}` };
    const claim = await app.inject({ method: 'GET', url: `/internal/v1/queue/retrieve?model=chat&timeout=1s&hostname=${alloc!.ID}`, headers: worker });
    expect(claim.json()).toMatchObject({ data: { request_id: submitted.request_id } });
    const running = await app.inject({ method: 'POST', url: '/internal/v1/videos/status', headers: worker, payload: { model: 'chat', request_id: submitted.request_id, status: 'running', payload: {} } });
    expect(running.statusCode).toBe(200);
    nomad.fail(alloc!.ID, 137);
    const status = () => call('GET', `/v1/queue/status?model=chat&request_id=${submitted.request_id}`).then((r) => r.body as unknown as { status: string; retries: number });
    const released = await waitFor('the claim released', async () => {
      const s = await status();
      return s.status === 'pending' ? s : undefined;
    }, 15_000);
    expect(released.retries).toBe(1);
  });
  it('preloads a volume through artifacts whose signed URLs download its files without a key', async () => {
    for (const [file, text] of [['pantry/0/curry.txt', 'cumin'], ['pantry/0/menu/pasta.txt', 'penne']] as const) {
      const asked = await call('POST', '/v1/storage/upload-request', { filename: file });
      const url = new URL((asked.body as unknown as { upload_url: { url: string } }).upload_url.url);
      expect((await app.inject({ method: 'PUT', url: url.pathname + url.search, payload: text })).statusCode).toBe(200);
    }
    const volume = await call('POST', '/v1/deployments/storage/volumes', { name: 'pantry', type: 'readOnly', content: { type: 'files', source_prefix: 'pantry/0' } });
    expect(volume.status).toBe(200);
    const created = await call('POST', '/v1/deployments', {
      name: 'chat', image: 'registry.example.com/chat:1', gpu_type: 'none', gpu_count: 0, volumes: [{ name: 'pantry', mount_path: '/pantry' }],
    });
    expect(created.status).toBe(200);
    const task = nomad.registered[0]!.Job.TaskGroups[0]!.Tasks[0]!;
    expect(task.Artifacts!.map((a) => a.RelativeDest).sort()).toEqual(['local/volumes/pantry/curry.txt', 'local/volumes/pantry/menu/pasta.txt']);
    for (const artifact of task.Artifacts!) {
      const url = new URL(artifact.GetterSource);
      expect(url.origin).toBe('https://gantry.example.com');
      const fetched = await app.inject({ method: 'GET', url: url.pathname + url.search });
      expect(fetched.statusCode).toBe(200);
      expect(['cumin', 'penne']).toContain(fetched.body);
    }
    expect(task.Config.mount).toEqual([{ type: 'bind', source: 'local/volumes/pantry', target: '/pantry', readonly: true }]);
  });
});

describe('buildDeps with NOMAD_ADDR', () => {
  const build = (env: Record<string, string>, withSecrets: boolean) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-nomad-cfg-'));
    const config = loadConfig({ env: { GANTRY_DATA_DIR: dataDir, GANTRY_INSECURE_HTTP: '1', NOMAD_ADDR: 'http://127.0.0.1:4646', ...env } });
    return buildDeps(config, { logger: createLogger({ level: 'silent' }), ...(withSecrets ? { workloadSecrets: new MemoryWorkloadSecrets() } : {}) }).finally(() => rmSync(dataDir, { recursive: true, force: true }));
  };

  it('refuses to start without GANTRY_PUBLIC_URL', async () => {
    const err = await build({}, true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join()).toMatch(/GANTRY_PUBLIC_URL/);
  });

  it('refuses to start without Vault (VAULT_ADDR) for the jobs’ secrets', async () => {
    const err = await build({ GANTRY_PUBLIC_URL: 'https://gantry.example.com' }, false).catch((e: unknown) => e);
    expect((err as ConfigError).problems.join()).toMatch(/VAULT_ADDR/);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/shared/logger.js';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

const BASE = '/v1/deployments/secrets';
const VALUE = 'tok-0123456789abcdef-secret-✓';

describe('secrets API (compat.md §5.2)', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await createTestServer();
  });
  afterEach(async () => server.close());

  type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
  const call = (method: Method, url: string, payload?: unknown, headers: Record<string, string> = server.auth) =>
    server.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  const create = (body: Record<string, unknown>) => call('POST', BASE, body);

  it('creates, reads, updates and deletes a secret', async () => {
    const created = await create({ name: 'app-HF_TOKEN', value: VALUE, description: 'HF' });
    expect(created.statusCode).toBe(200);
    const secret = created.json();
    expect(secret).toMatchObject({ object: 'secret', name: 'app-HF_TOKEN', description: 'HF' });
    expect(secret).toMatchObject({ created_by: 'test-admin', last_updated_by: 'test-admin' });
    expect(secret.id).toMatch(/^sec_/);
    expect((await call('GET', `${BASE}/${secret.id}`)).json()).toEqual(secret);
    expect((await call('GET', `${BASE}/app-HF_TOKEN`)).json()).toEqual(secret);

    const patched = await call('PATCH', `${BASE}/app-HF_TOKEN`, { value: 'new-value', description: 'changed' });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ id: secret.id, description: 'changed', last_updated_by: 'test-admin' });
    expect(await server.deps.secrets.reveal(secret.id)).toBe('new-value');

    const deleted = await call('DELETE', `${BASE}/${secret.id}`);
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toEqual({});
    expect((await call('GET', `${BASE}/app-HF_TOKEN`)).statusCode).toBe(404);
  });

  it('renames a secret with PATCH name', async () => {
    const { id } = (await create({ name: 'before', value: VALUE })).json();
    const res = await call('PATCH', `${BASE}/before`, { name: 'after' });
    expect(res.json()).toMatchObject({ id, name: 'after' });
    expect((await call('GET', `${BASE}/before`)).statusCode).toBe(404);
    expect(await server.deps.secrets.reveal('after')).toBe(VALUE);
  });

  it('lists secrets and never returns a value, in any response', async () => {
    const responses = [
      await create({ name: 'a', value: VALUE }),
      await create({ name: 'b', value: `${VALUE}-b` }),
      await call('PATCH', `${BASE}/a`, { value: VALUE }),
      await call('GET', `${BASE}/a`),
    ];
    const list = await call('GET', BASE);
    expect(list.json()).toMatchObject({ object: 'list', data: [{ name: 'a' }, { name: 'b' }] });
    for (const res of [...responses, list]) {
      expect(res.body).not.toContain(VALUE);
      expect(res.body).not.toContain('"value"');
    }
  });

  it('records the calling key name as created_by and last_updated_by', async () => {
    const { key } = await server.deps.keys.createKey('ci-bot', 'user');
    const res = await call('POST', BASE, { name: 'x', value: VALUE }, { authorization: `Bearer ${key}` });
    expect(res.json()).toMatchObject({ created_by: 'ci-bot', last_updated_by: 'ci-bot' });
    const patched = await call('PATCH', `${BASE}/x`, { description: 'd' });
    expect(patched.json()).toMatchObject({ created_by: 'ci-bot', last_updated_by: 'test-admin' });
  });

  it.each([
    ['a 101-character name', { name: 'n'.repeat(101), value: VALUE }, 'name'],
    ['a name with a space', { name: 'bad name', value: VALUE }, 'name'],
    ['a name with a colon', { name: 'a:b', value: VALUE }, 'name'],
    ['an empty name', { name: '', value: VALUE }, 'name'],
    ['a missing name', { value: VALUE }, 'name'],
    ['an empty value', { name: 'ok', value: '' }, 'value'],
    ['a missing value', { name: 'ok' }, 'value'],
    ['a numeric value', { name: 'ok', value: 5 }, 'value'],
    ['a 501-character description', { name: 'ok', value: VALUE, description: 'd'.repeat(501) }, 'description'],
    ['a numeric description', { name: 'ok', value: VALUE, description: 7 }, 'description'],
    ['a numeric project_id', { name: 'ok', value: VALUE, project_id: 1 }, 'project_id'],
  ])('refuses to create with %s, naming the field', async (_what, body, param) => {
    const res = await create(body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'GANTRY_ERR_REQUEST_INVALID', param });
    expect(res.json().error.message).toContain(param);
  });

  it.each([
    ['a bad name', { name: 'no spaces' }, 'name'],
    ['an empty value', { value: '' }, 'value'],
    ['a list as the value', { value: ['x'] }, 'value'],
    ['a 501-character description', { description: 'd'.repeat(501) }, 'description'],
  ])('refuses to update with %s, naming the field', async (_what, body, param) => {
    await create({ name: 'target', value: VALUE });
    const res = await call('PATCH', `${BASE}/target`, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'GANTRY_ERR_REQUEST_INVALID', param });
    expect(await server.deps.secrets.reveal('target')).toBe(VALUE);
  });

  it('accepts the longest name and description, ignores unknown keys and project_id', async () => {
    const name = `${'n'.repeat(98)}/.`;
    const res = await create({ name, value: VALUE, description: 'd'.repeat(500), project_id: 'proj_x', extra: 1 });
    expect(res.statusCode).toBe(200);
    expect(res.json()).not.toHaveProperty('extra');
    expect(res.json().name).toBe(name);
  });

  it('treats a null description as not given', async () => {
    const res = await create({ name: 'nulls', value: VALUE, description: null, project_id: null });
    expect(res.json().description).toBe('');
    const patched = await call('PATCH', `${BASE}/nulls`, { description: null, name: null });
    expect(patched.json()).toMatchObject({ name: 'nulls', description: '' });
  });

  it('refuses a duplicate name with a message containing "already exists"', async () => {
    await create({ name: 'dup', value: VALUE });
    const res = await create({ name: 'dup', value: 'other' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('GANTRY_ERR_SECRET_EXISTS');
    expect(res.json().error.message).toContain('already exists');
    expect(await server.deps.secrets.reveal('dup')).toBe(VALUE);
  });

  it('refuses to rename onto a taken name', async () => {
    await create({ name: 'one', value: VALUE });
    await create({ name: 'two', value: VALUE });
    const res = await call('PATCH', `${BASE}/two`, { name: 'one' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('GANTRY_ERR_SECRET_EXISTS');
  });

  it.each([
    ['raw', 'team/ml.hf-token'],
    ['%2F-encoded', 'team%2Fml.hf-token'],
  ])('reaches names with "/" and "." through the path, %s', async (_how, pathName) => {
    await create({ name: 'team/ml.hf-token', value: VALUE });
    expect((await call('GET', `${BASE}/${pathName}`)).json()).toMatchObject({ name: 'team/ml.hf-token' });
    expect((await call('PATCH', `${BASE}/${pathName}`, { description: 'x' })).json().description).toBe('x');
    expect((await call('DELETE', `${BASE}/${pathName}`)).statusCode).toBe(200);
    expect((await call('GET', BASE)).json().data).toEqual([]);
  });

  it('supports Jig\'s set flow: PATCH answers 404, then POST creates', async () => {
    const patch = await call('PATCH', `${BASE}/app-TOKEN`, { name: 'app-TOKEN', description: '', value: VALUE });
    expect(patch.statusCode).toBe(404);
    expect((await create({ name: 'app-TOKEN', description: '', value: VALUE })).statusCode).toBe(200);
    const again = await call('PATCH', `${BASE}/app-TOKEN`, { name: 'app-TOKEN', description: '', value: 'v2' });
    expect(again.statusCode).toBe(200);
    expect(await server.deps.secrets.reveal('app-TOKEN')).toBe('v2');
  });

  it.each([
    ['GET', undefined],
    ['PATCH', { value: 'x' }],
    ['DELETE', undefined],
  ] as const)('answers %s of an unknown secret with 404', async (method, body) => {
    for (const ref of ['sec_00000000000000000000000000000000', 'nothing-here', '']) {
      const res = await call(method, `${BASE}/${ref}`, body);
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('GANTRY_ERR_SECRET_NOT_FOUND');
    }
  });

  it.each([
    ['GET', BASE],
    ['POST', BASE],
    ['GET', `${BASE}/x`],
    ['PATCH', `${BASE}/x`],
    ['DELETE', `${BASE}/x`],
  ] as const)('answers %s %s without a key with 401', async (method, url) => {
    const body = method === 'POST' || method === 'PATCH' ? { name: 'x', value: 'y' } : undefined;
    const res = await call(method, url, body, {});
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('GANTRY_ERR_AUTH_MISSING_KEY');
  });

  it('refuses a worker token with 403 and stores nothing', async () => {
    const { key } = await server.deps.keys.createWorkerToken('dep-a');
    const headers = { authorization: `Bearer ${key}` };
    expect((await call('GET', BASE, undefined, headers)).statusCode).toBe(403);
    const res = await call('POST', BASE, { name: 'x', value: VALUE }, headers);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('GANTRY_ERR_AUTH_FORBIDDEN');
    expect(await server.deps.secrets.list()).toEqual([]);
  });

  it('answers malformed JSON with 400', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: BASE,
      headers: { ...server.auth, 'content-type': 'application/json' },
      payload: '{"name": "a", "value": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('GANTRY_ERR_REQUEST_MALFORMED_JSON');
  });
});

describe('secrets API across restarts and in the logs', () => {
  it('keeps secrets, and their values, across a restart on the same data dir', async () => {
    // Both servers are given the dir, so closing the first one does not delete it.
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-secrets-restart-'));
    const first = await createTestServer({ dataDir });
    await first.app.inject({ method: 'POST', url: BASE, headers: first.auth, payload: { name: 'kept', value: VALUE } });
    await first.close();
    const second = await createTestServer({ dataDir });
    try {
      const list = await second.app.inject({ method: 'GET', url: BASE, headers: second.auth });
      expect(list.json().data).toMatchObject([{ name: 'kept' }]);
      expect(await second.deps.secrets.reveal('kept')).toBe(VALUE);
    } finally {
      await second.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('never writes a secret value into the server log, even at trace level', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void lines.push(line) } });
    const server = await createTestServer({ logger });
    try {
      const post = { method: 'POST' as const, url: BASE, headers: server.auth };
      await server.app.inject({ ...post, payload: { name: 'logged', value: VALUE } });
      await server.app.inject({ ...post, url: `${BASE}/logged`, method: 'PATCH', payload: { value: `${VALUE}-2` } });
      await server.app.inject({ ...post, payload: { name: 'logged', value: `${VALUE}-dup` } });
      await server.app.inject({ ...post, payload: { name: 'bad name', value: `${VALUE}-bad` } });
      const text = lines.join('');
      expect(text).toContain('secret created');
      expect(text).toContain('secret updated');
      expect(text).not.toContain(VALUE);
    } finally {
      await server.close();
    }
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

describe('authentication and identity routes', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await createTestServer({ env: { GANTRY_REGISTRY: 'https://registry.example.com/ml' } });
  });
  afterEach(async () => server.close());

  const get = (url: string, headers: Record<string, string> = {}) => server.app.inject({ method: 'GET', url, headers });

  it('answers /health without a key', async () => {
    const res = await get('/health');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('answers whoami with the caller identity and a stable project_id', async () => {
    const res = await get('/v1/whoami', server.auth);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ project_id: server.deps.project.projectId, key_kind: 'admin', key_name: 'test-admin' });
    expect(body.project_id).toMatch(/^proj_/);
    for (const field of ['api_key_id', 'organization_id', 'organization_name', 'project_name', 'project_slug']) {
      expect(body[field], field).toEqual(expect.any(String));
    }
  });

  it.each([
    ['no header', {}, 'GANTRY_ERR_AUTH_MISSING_KEY'],
    ['a non-bearer scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 'GANTRY_ERR_AUTH_MISSING_KEY'],
    ['an unknown key', { authorization: 'Bearer gantry_unknown' }, 'GANTRY_ERR_AUTH_INVALID_KEY'],
    ['literally "Bearer None"', { authorization: 'Bearer None' }, 'GANTRY_ERR_AUTH_INVALID_KEY'],
  ])('answers 401 for %s', async (_name, headers, code) => {
    const res = await get('/v1/whoami', headers);
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toMatchObject({ code, type: 'authentication_error' });
    expect(res.json().error.message).toEqual(expect.any(String));
  });

  it('lets a worker token call whoami but not user routes', async () => {
    const { key } = await server.deps.keys.createWorkerToken('dep_a', 'r0');
    const headers = { authorization: `Bearer ${key}` };
    const whoami = await get('/v1/whoami', headers);
    expect(whoami.statusCode).toBe(200);
    expect(whoami.json()).toMatchObject({ key_kind: 'worker', deployment_id: 'dep_a' });
    const res = await get('/v1/image-repositories/base-path', headers);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('GANTRY_ERR_AUTH_FORBIDDEN');
  });

  it('stops accepting a key as soon as it is revoked', async () => {
    const { key, info } = await server.deps.keys.createKey('temp', 'user');
    expect((await get('/v1/whoami', { authorization: `Bearer ${key}` })).statusCode).toBe(200);
    await server.deps.keys.revoke(info.id);
    expect((await get('/v1/whoami', { authorization: `Bearer ${key}` })).statusCode).toBe(401);
  });

  it('returns the configured registry base path without a scheme', async () => {
    const res = await get('/v1/image-repositories/base-path', server.auth);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ 'base-path': 'registry.example.com/ml' });
  });

  it('answers 404 with a message when no registry is configured', async () => {
    const bare = await createTestServer();
    try {
      const res = await bare.app.inject({ method: 'GET', url: '/v1/image-repositories/base-path', headers: bare.auth });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('GANTRY_ERR_REGISTRY_NOT_CONFIGURED');
      expect(res.json().error.message).toContain('GANTRY_REGISTRY');
    } finally {
      await bare.close();
    }
  });

  it('answers an unknown route with a 404 in the error format', async () => {
    const res = await get('/v1/nothing-here', server.auth);
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('GANTRY_ERR_ROUTE_NOT_FOUND');
  });

  it('serves Prometheus metrics without a key, with per-route counts', async () => {
    await get('/health');
    await get('/v1/whoami', server.auth);
    const res = await get('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('process_cpu_user_seconds_total');
    expect(res.body).toMatch(/gantry_http_requests_total\{method="GET",route="\/v1\/whoami",status_code="200"\} 1/);
    expect(res.body).toContain('gantry_http_request_duration_seconds_bucket');
  });

  it('requires a key on /metrics when configured to', async () => {
    const locked = await createTestServer({ env: { GANTRY_METRICS_REQUIRE_KEY: '1' } });
    try {
      expect((await locked.app.inject({ url: '/metrics' })).statusCode).toBe(401);
      expect((await locked.app.inject({ url: '/metrics', headers: locked.auth })).statusCode).toBe(200);
    } finally {
      await locked.close();
    }
  });
});

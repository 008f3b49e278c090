import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutateBody, mutateHeaders, mutateParam, mutateQueryValue, Rng, type FuzzCase, type Json } from '../helpers/fuzz.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

/**
 * Issue 15: every JSON route, as Fastify itself lists them (so a new route is fuzzed without touching this
 * file), is sent nesting, size, type and encoding mutations of a valid request. No answer may be a 500,
 * every refusal is in the error shape, and the server is healthy after. Seeded: set FUZZ_SEED to replay.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 15_2026);
const INJECT_CASES = 3_000;
const INJECT_BUDGET_MS = 45_000;
const HTTPS_CASES = 300;
const HTTPS_BUDGET_MS = 30_000;

interface Route {
  method: string;
  url: string;
}

/** A valid body per route (by method and URL pattern); routes not listed get a generic object. */
const SEED_BODIES: Record<string, Record<string, Json>> = {
  'POST /v1/deployments': { name: 'fz', image: 'img', gpu_type: 'none', min_replicas: 0, environment_variables: [{ name: 'A', value: 'b' }] },
  'PATCH /v1/deployments/:id': { description: 'd', min_replicas: 0, max_replicas: 1, command: ['python', 'app.py'] },
  'POST /v1/deployments/secrets': { name: 'fz-secret', value: 'v', description: 'd' },
  'PATCH /v1/deployments/secrets/*': { value: 'v2' },
  'POST /v1/deployments/storage/volumes': { name: 'fz-vol', type: 'readOnly', content: { type: 'files', source_prefix: 'fz' } },
  'PATCH /v1/deployments/storage/volumes/:id': { content: { source_prefix: 'fz2' } },
  'POST /v1/queue/submit': { model: 'web', payload: { prompt: 'x', list: [1, 2] }, info: { a: 1 }, priority: 1 },
  'POST /v1/videos/generations': { model: 'web', payload: { prompt: 'x' } },
  'POST /v1/queue/cancel': { model: 'web', request_id: 'nope' },
  'POST /v1/videos/cancel': { model: 'web', request_id: 'nope', x_gantry_running: true },
  'POST /v1/queue/clear': { model: 'web' },
  'POST /internal/v1/videos/status': { model: 'web', request_id: 'nope', status: 'done', payload: { out: 1 }, info: { b: 2 } },
  'POST /v1/storage/upload-request': { filename: 'fz/a.txt' },
  'POST /v1/storage/multipart/init': { filename: 'fz/big.bin', parts_count: 2 },
  'POST /v1/storage/multipart/complete': { filename: 'fz/big.bin', upload_id: 'u', parts: [{ part_number: 1, etag: 'e' }] },
  'POST /v1/storage/multipart/abort': { filename: 'fz/big.bin', upload_id: 'u' },
};

/** Query strings of GET routes: `fixed` keys are never mutated (a long poll must not wait, logs must not follow). */
const QUERIES: Record<string, { mutable: Record<string, string>; fixed?: Record<string, string> }> = {
  '/v1/queue/status': { mutable: { model: 'web', request_id: 'nope' } },
  '/v1/videos/status': { mutable: { model: 'web', request_id: 'nope' } },
  '/v1/queue/metrics': { mutable: { model: 'web' } },
  '/internal/v1/queue/retrieve': { mutable: { model: 'web', hostname: 'h', claim_timeout: '10' }, fixed: { timeout: '1ms' } },
  '/v1/deployments/:id/logs': { mutable: { replica_id: 'r', revision: 'x' }, fixed: { follow: 'false' } },
};

/** Real values for path parameters; DELETEs aim at names that do not exist, so the fuzz keeps its deployment. */
function realParam(route: Route): string {
  if (route.method === 'DELETE') return 'fz-missing';
  if (route.url.includes('secrets')) return 'fz-secret';
  if (route.url.includes('volumes')) return 'fz-vol';
  return 'web';
}

function buildCase(rng: Rng, route: Route): FuzzCase {
  const pathPart = route.url.replace(/:[A-Za-z]+|\*/g, () => mutateParam(rng, realParam(route)));
  const url = pathPart + queryOf(rng, route);
  if (route.method === 'GET' || (route.method === 'DELETE' && rng.chance(0.5))) {
    return { method: route.method, url, headers: {}, body: undefined, mutation: `url ${url.slice(0, 120)}` };
  }
  const [body, bodyLabel] = mutateBody(rng, SEED_BODIES[`${route.method} ${route.url}`] ?? { a: 1, b: 'c' });
  const [headers, headerLabel] = mutateHeaders(rng);
  return { method: route.method, url, headers, body, mutation: [bodyLabel, headerLabel, `url ${url.slice(0, 80)}`].filter(Boolean).join('; ') };
}

function queryOf(rng: Rng, route: Route): string {
  const query = QUERIES[route.url];
  const pairs: string[] = Object.entries(query?.fixed ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const [key, value] of Object.entries(query?.mutable ?? {})) {
    if (!rng.chance(0.1)) pairs.push(`${key}=${mutateQueryValue(rng, value)}`);
  }
  if (rng.chance(0.1)) pairs.push(`${mutateQueryValue(rng, 'extra')}=${mutateQueryValue(rng, 'x')}`);
  return pairs.length > 0 ? `?${pairs.join('&')}` : '';
}

/** What is wrong with an answer, or undefined: no 5xx, and every refusal in the error shape. */
function problemOf(route: Route, status: number, body: string): string | undefined {
  if (status >= 500) return `status ${status}: ${body.slice(0, 300)}`;
  if (status < 400) return undefined;
  if (status === 409 && route.url.endsWith('/cancel') && /^\{"status":"\w+"\}$/.test(body)) return undefined; // compat.md §8.4
  try {
    const { error } = JSON.parse(body) as { error?: Record<string, unknown> };
    const shaped = typeof error?.message === 'string' && typeof error.type === 'string' && /^GANTRY_ERR_[A-Z_]+$/.test(String(error.code)) && 'param' in error;
    return shaped ? undefined : `status ${status} not in the error shape: ${body.slice(0, 300)}`;
  } catch {
    return `status ${status} without a JSON body: ${body.slice(0, 300)}`;
  }
}

/** Routes that take JSON: streaming routes (uploads, direct requests) and HEAD are left out. */
function jsonRoutes(seen: RouteOptions[]): Route[] {
  const routes: Route[] = [];
  for (const route of seen) {
    if (route.config?.tooLargeCode !== undefined) continue; // a streamed body, not JSON (request-limits plugin)
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url! });
  }
  return routes;
}

/**
 * Routes the server adds directly rather than through a plugin are registered before a test can add an
 * `onRoute` hook (`/health`): the top level of Fastify's route tree names them with their whole path.
 */
function topLevelRoutes(tree: string, seen: RouteOptions[]): Route[] {
  const known = new Set(seen.map((r) => r.url));
  const routes: Route[] = [];
  for (const line of tree.split('\n')) {
    const match = /^[├└]── (\/\S*) \(([A-Z, ]+)\)$/.exec(line);
    if (!match || known.has(match[1]!)) continue;
    for (const method of match[2]!.split(', ')) if (method !== 'HEAD') routes.push({ method, url: match[1]! });
  }
  return routes;
}

describe('fuzzing every JSON route', () => {
  let server: TestServer;
  let routes: Route[];
  const seen: RouteOptions[] = [];

  beforeAll(async () => {
    server = await createTestServer({ onRoute: (route) => seen.push(route) });
    routes = [...jsonRoutes(seen), ...topLevelRoutes(server.app.printRoutes({ commonPrefix: false }), seen)];
    const deploy = { name: 'web', image: 'img', gpu_type: 'none', min_replicas: 1 };
    expect((await server.app.inject({ method: 'POST', url: '/v1/deployments', headers: server.auth, payload: deploy })).statusCode).toBe(200);
  });
  afterAll(async () => server.close());

  it('lists the routes from Fastify, the queue, worker and API routes among them', () => {
    const names = routes.map((r) => `${r.method} ${r.url}`);
    expect(names).toEqual(
      expect.arrayContaining(['GET /health', 'POST /v1/queue/submit', 'POST /internal/v1/videos/status', 'POST /v1/deployments', 'PATCH /v1/deployments/:id']),
    );
    expect(names.some((n) => n.startsWith('POST /v1/deployment-request'))).toBe(false);
  });

  it(`answers no 500 and every refusal in the error shape over ${INJECT_CASES} cases (seed ${SEED})`, async () => {
    const rng = new Rng(SEED);
    const failures: string[] = [];
    const started = Date.now();
    let count = 0;
    for (; count < INJECT_CASES && Date.now() - started < INJECT_BUDGET_MS; count++) {
      const route = routes[count % routes.length]!;
      const c = buildCase(rng, route);
      const res = await server.app.inject({ method: c.method as 'GET', url: c.url, headers: { ...server.auth, ...c.headers }, ...(c.body ? { payload: c.body } : {}) });
      const problem = problemOf(route, res.statusCode, res.body);
      if (problem) failures.push(`case ${count} ${c.method} ${route.url} (${c.mutation}): ${problem}`);
    }
    expect(failures.slice(0, 20), `seed ${SEED}, ${failures.length} failures in ${count} cases`).toEqual([]);
    expect(count).toBeGreaterThanOrEqual(Math.min(INJECT_CASES, 1_000));
  }, 120_000);

  it('is healthy after: /health answers 200 and a normal submit works', async () => {
    expect((await server.app.inject({ url: '/health' })).statusCode).toBe(200);
    const submit = await server.app.inject({ method: 'POST', url: '/v1/queue/submit', headers: server.auth, payload: { model: 'web', payload: { ok: true } } });
    expect(submit.statusCode).toBe(200);
    expect(submit.json().status).toBe('pending');
  });

  describe('over real HTTPS against a server process', () => {
    let dataDir: string;
    let gantry: ServerProcess;
    beforeAll(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-fuzz-'));
      gantry = await startServerProcess(dataDir);
    }, 60_000);
    afterAll(async () => {
      await gantry.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it(`answers no 500 over ${HTTPS_CASES} cases and stays healthy`, async () => {
      const rng = new Rng(SEED + 1);
      const key = gantry.printedAdminKey!;
      const failures: string[] = [];
      const started = Date.now();
      let count = 0;
      for (; count < HTTPS_CASES && Date.now() - started < HTTPS_BUDGET_MS; count++) {
        const route = routes[rng.int(routes.length)]!;
        const c = buildCase(rng, route);
        const res = await gantry.fetch(`${gantry.url}${c.url}`, {
          method: c.method,
          headers: { authorization: `Bearer ${key}`, ...c.headers },
          ...(c.body && c.method !== 'GET' ? { body: c.body } : {}),
        });
        const problem = problemOf(route, res.status, await res.text());
        if (problem) failures.push(`case ${count} ${c.method} ${route.url} (${c.mutation}): ${problem}`);
      }
      expect(failures.slice(0, 20), `seed ${SEED + 1}, ${failures.length} failures in ${count} cases`).toEqual([]);
      expect((await gantry.fetch(`${gantry.url}/health`)).status).toBe(200);
      const secret = await gantry.fetch(`${gantry.url}/v1/deployments/secrets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'after-fuzz', value: 'v' }),
      });
      expect(secret.status).toBe(200);
    }, 120_000);
  });
});

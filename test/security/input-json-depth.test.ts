import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

/** Issue 15 item 4: JSON nested past the limit is refused with a 400 before anything recursive runs. */
describe('deeply nested JSON bodies', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer();
    const deploy = { name: 'web', image: 'img', gpu_type: 'none', min_replicas: 1 };
    expect((await server.app.inject({ method: 'POST', url: '/v1/deployments', headers: server.auth, payload: deploy })).statusCode).toBe(200);
  });
  afterAll(async () => server.close());

  const nested = (levels: number) => '['.repeat(levels) + '1' + ']'.repeat(levels);
  const post = (url: string, payload: string) =>
    server.app.inject({ method: 'POST', url, headers: { ...server.auth, 'content-type': 'application/json' }, payload });

  async function claimedJob(): Promise<string> {
    const submitted = await post('/v1/queue/submit', JSON.stringify({ model: 'web', payload: { prompt: 'x' } }));
    const requestId = submitted.json().request_id as string;
    const retrieved = await server.app.inject({ url: '/internal/v1/queue/retrieve?model=web&timeout=1s', headers: server.auth });
    expect(retrieved.json().data.request_id).toBe(requestId);
    return requestId;
  }

  it.each([1_000, 4_200, 100_000])('refuses a submit nested %i levels with 400 naming the field and the limit', async (levels) => {
    const res = await post('/v1/queue/submit', `{"model":"web","payload":{"deep":${nested(levels)}}}`);
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('GANTRY_ERR_REQUEST_TOO_DEEP');
    expect(error.param).toMatch(/^payload\.deep\.0\.0/);
    expect(error.message).toContain('64');
  });

  it.each([1_000, 10_500, 100_000])('refuses a worker status nested %i levels with 400', async (levels) => {
    const requestId = await claimedJob();
    const res = await post(
      '/internal/v1/videos/status',
      `{"model":"web","request_id":"${requestId}","status":"done","payload":{"out":${nested(levels)}}}`,
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'GANTRY_ERR_REQUEST_TOO_DEEP', param: expect.stringMatching(/^payload\.out/) });
  });

  it('refuses nesting on every JSON route, including ones that read no such field', async () => {
    const res = await post('/v1/deployments/secrets', `{"name":"a","value":"b","extra":${nested(70)}}`);
    expect(res.json().error).toMatchObject({ code: 'GANTRY_ERR_REQUEST_TOO_DEEP', param: expect.stringMatching(/^extra\./) });
  });

  it('accepts a payload as deep as workers may be sent, and the worker gets at most 64 levels', async () => {
    // {"data": {"payload": P}}: P may nest 62 levels.
    const payload = `{"p":${nested(61)}}`;
    const submitted = await post('/v1/queue/submit', `{"model":"web","payload":${payload}}`);
    expect(submitted.statusCode).toBe(200);
    const retrieved = await server.app.inject({ url: '/internal/v1/queue/retrieve?model=web&timeout=1s', headers: server.auth });
    expect(retrieved.statusCode).toBe(200);
    expect(depthOfText(retrieved.body)).toBe(64);
  });

  it('refuses a payload one level deeper than workers may be sent', async () => {
    const res = await post('/v1/queue/submit', `{"model":"web","payload":{"p":${nested(62)}}}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'GANTRY_ERR_REQUEST_TOO_DEEP', param: 'payload' });
  });

  it('fails a job stored before the limit whose payload is too deep, instead of sending it to a worker', async () => {
    const { id } = (await server.app.inject({ url: '/v1/deployments/web', headers: server.auth })).json();
    const deep = JSON.parse(`{"p":${nested(1_000)}}`) as Record<string, never>;
    const stored = await server.deps.queue.submit({ deploymentId: id, model: 'web', payload: deep, info: {}, priority: 0, maxRetries: 3 });
    const retrieved = await server.app.inject({ url: '/internal/v1/queue/retrieve?model=web&timeout=1s', headers: server.auth });
    expect(retrieved.json()).toEqual({ data: null });
    const status = await server.app.inject({ url: `/v1/queue/status?model=web&request_id=${stored.request_id}`, headers: server.auth });
    expect(status.json()).toMatchObject({ status: 'failed', info: { error: expect.stringContaining('payload') } });
  });

  it('stays healthy and serves a normal submit after all of it', async () => {
    expect((await server.app.inject({ url: '/health' })).statusCode).toBe(200);
    expect((await post('/v1/queue/submit', JSON.stringify({ model: 'web', payload: { a: [1] } }))).statusCode).toBe(200);
  });
});

/** Deepest nesting of a JSON text, by counting brackets outside strings. */
function depthOfText(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (const c of text.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if (c === '{' || c === '[') deepest = Math.max(deepest, ++depth);
    if (c === '}' || c === ']') depth--;
  }
  return deepest;
}

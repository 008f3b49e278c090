import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerApi } from '../src/api-client.js';
import { resolveOptions } from '../src/options.js';
import { FileOutput } from '../src/sprocket.js';
import { recordingLogger } from './doubles/fake-worker-api.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A stand-in for Gantry's internal API: `answer` gives status and body per request, in order. */
async function fakeGantry(answer: (req: Seen) => [number, unknown, Record<string, string>?]): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const entry = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(entry);
      const [status, reply, headers] = answer(entry);
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

const apiFor = (base: string, key?: string, env: Record<string, string> = {}) =>
  new WorkerApi(resolveOptions({ argv: [], env: { TOGETHER_DEPLOYMENT_NAME: 'dep', TOGETHER_API_BASE_URL: base, ...(key ? { TOGETHER_API_KEY: key } : {}), ...env } }), recordingLogger());

describe('WorkerApi', () => {
  it('long-polls retrieve with the protocol query and headers, and reads {"data": null} as no job', async () => {
    const g = await fakeGantry(() => [200, { data: null }]);
    expect(await apiFor(g.base, 'tok').retrieve(1.5)).toBeUndefined();
    const req = g.seen[0]!;
    const query = new URL(req.url, g.base).searchParams;
    expect(Object.fromEntries(query)).toMatchObject({ timeout: '5s', model: 'dep', claim_timeout: '90' });
    expect(query.get('hostname')).toBeTruthy();
    expect(req.headers).toMatchObject({ authorization: 'Bearer tok', 'x-idle-time': '1.500' });
    expect(req.headers['user-agent']).toMatch(/sprocket-ts\/\S+ dep\/unknown$/);
  });

  it('returns the job handed out, and refuses a body that is not a JSON object', async () => {
    const answers: [number, unknown][] = [[200, { data: { request_id: 'r1', payload: { a: 1 }, extra: true } }], [200, ['not', 'an', 'object']]];
    const g = await fakeGantry(() => answers.shift()!);
    const api = apiFor(g.base);
    expect(await api.retrieve(0)).toEqual({ request_id: 'r1', payload: { a: 1 } });
    await expect(api.retrieve(0)).rejects.toThrow(/non-object/);
    expect(g.seen[0]!.headers.authorization).toBe('Bearer None');
  });

  it('throws an HttpStatusError carrying Retry-After for a retrieve that is not 200', async () => {
    const g = await fakeGantry(() => [503, { error: { code: 'GANTRY_ERR_NOT_LEADER' } }, { 'retry-after': '3' }]);
    await expect(apiFor(g.base).retrieve(0)).rejects.toMatchObject({ name: 'HttpStatusError', status: 503, retryAfterMs: 3000 });
  });

  it('retries a status update with backoff until exactly 200, and reads a 409 with a job code as a refusal', async () => {
    const answers: [number, unknown][] = [[500, {}], [201, {}], [503, { error: { message: 'no leader', code: 'GANTRY_ERR_NOT_LEADER' } }], [200, { status: 'ok' }]];
    const g = await fakeGantry(() => answers.shift() ?? [409, { error: { message: 'job r1 was canceled; stop working on it', code: 'GANTRY_ERR_JOB_CANCELED' } }]);
    const api = apiFor(g.base);
    expect(await api.postStatus('r1', 'done', { out: 1 })).toBe('ok');
    expect(g.seen).toHaveLength(4);
    expect(JSON.parse(g.seen[0]!.body)).toEqual({ model: 'dep', request_id: 'r1', status: 'done', payload: { out: 1 } });
    expect(await api.postStatus('r1', 'running', {}, { step: 1 })).toEqual({ code: 'GANTRY_ERR_JOB_CANCELED', message: 'job r1 was canceled; stop working on it' });
    expect(g.seen).toHaveLength(5);
    expect(JSON.parse(g.seen[4]!.body).info).toEqual({ step: 1 });
  });

  it('gives up when the window passes; a 409 without a job code or another 4xx is final at once', async () => {
    const g = await fakeGantry(() => [503, {}]);
    const started = performance.now();
    expect(await apiFor(g.base, undefined, { GANTRY_SPROCKET_STATUS_RETRY_SECONDS: '2' }).postStatus('r1', 'failed', {}, { error: 'x' })).toBe('failed');
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(g.seen.length).toBeGreaterThanOrEqual(3);
    expect(g.seen.length).toBeLessThanOrEqual(8);
    await new Promise((resolve) => server?.close(resolve));
    const conflict = await fakeGantry(() => [409, { error: { message: 'retry', code: 'GANTRY_ERR_STATE_CONFLICT' } }]);
    expect(await apiFor(conflict.base).postStatus('r1', 'running')).toEqual({ rejected: true, detail: expect.stringMatching(/^HTTP 409: .*GANTRY_ERR_STATE_CONFLICT/) });
    expect(conflict.seen).toHaveLength(1);
  });

  it('waits as long as Retry-After asks before the next attempt', async () => {
    const times: number[] = [];
    const answers: [number, unknown, Record<string, string>?][] = [[503, {}, { 'retry-after': '2' }], [200, {}]];
    const g = await fakeGantry(() => (times.push(performance.now()), answers.shift()!));
    expect(await apiFor(g.base).postStatus('r1', 'done')).toBe('ok');
    expect(g.seen).toHaveLength(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1_900);
  });

  it('retries through a server that refuses connections, then lands the update once it listens again', async () => {
    const g = await fakeGantry(() => [200, {}]);
    const port = new URL(g.base).port;
    await new Promise((resolve) => server?.close(resolve));
    const posted = apiFor(g.base).postStatus('r1', 'done', { kept: true });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await new Promise<void>((resolve) => server!.listen(Number(port), '127.0.0.1', resolve));
    expect(await posted).toBe('ok');
    expect(g.seen.map((s) => JSON.parse(s.body).payload)).toEqual([{ kept: true }]);
  });

  it('uploads a FileOutput through upload-request and a PUT, and returns the storage URL', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sprocket-upload-'));
    writeFileSync(path.join(dir, 'out.bin'), 'bytes!');
    let base = '';
    const g = await fakeGantry((req) => (req.method === 'POST' ? [200, { upload_url: { url: `${base}/signed-put?sig=1`, method: 'PUT' } }] : [200, {}]));
    base = g.base;
    const url = await apiFor(g.base, 'tok').uploadFile('r1', new FileOutput(path.join(dir, 'out.bin')));
    expect(url).toBe(`${g.base}/v1/storage/r1-out.bin`);
    expect(JSON.parse(g.seen[0]!.body)).toEqual({ filename: 'r1-out.bin' });
    expect([g.seen[1]!.method, g.seen[1]!.url, g.seen[1]!.body]).toEqual(['PUT', '/signed-put?sig=1', 'bytes!']);
    expect(g.seen[1]!.headers.authorization).toBeUndefined();
  });
});

import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { isEnforceIndexConflict, isTransient, NomadHttp, UnexpectedResponseError } from '../../../../src/clients/nomad/http.js';
import { FrameDecoder } from '../../../../src/scheduler/nomad/frames.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A server answering `answers` in turn (then the last one forever), recording what it saw. */
async function serve(answers: Array<[number, string]>) {
  const seen: Array<{ url: string; token: unknown }> = [];
  app = Fastify();
  app.all('/*', async (request, reply) => {
    seen.push({ url: request.url, token: request.headers['x-nomad-token'] });
    const [status, body] = answers[Math.min(seen.length - 1, answers.length - 1)]!;
    return reply.code(status).type(status < 300 ? 'application/json' : 'text/plain').header('X-Nomad-Index', '42').send(body);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as { port: number };
  const http = new NomadHttp({ address: `http://127.0.0.1:${address.port}`, token: 's3cret', namespace: 'ml', region: 'eu', retry: { attempts: 4, baseMs: 1, maxMs: 2 } });
  return { http, seen };
}

describe('NomadHttp', () => {
  it('sends the token, namespace and region, and returns X-Nomad-Index as lastIndex', async () => {
    const { http, seen } = await serve([[200, '{"ID":"x"}']]);
    const result = await http.get<{ ID: string }>('/v1/job/x', { index: 7, waitMs: 1000 });
    expect(result).toEqual({ data: { ID: 'x' }, meta: { lastIndex: 42 } });
    expect(seen[0]!.token).toBe('s3cret');
    expect(seen[0]!.url).toMatch(/namespace=ml/);
    expect(seen[0]!.url).toMatch(/region=eu/);
    expect(seen[0]!.url).toMatch(/index=7&wait=1000ms/);
  });

  it.each([
    ['503', [503, 'unavailable']],
    ['429 (the connection cap)', [429, 'Your IP is issuing too many concurrent connections, please rate limit your calls']],
    ['a 500 without a leader', [500, 'No cluster leader']],
    ['a 500 rpc EOF', [500, 'rpc error: EOF']],
  ] as Array<[string, [number, string]]>)('retries %s, then succeeds', async (_name, failure) => {
    const { http, seen } = await serve([failure, [200, '{}']]);
    await http.get('/v1/jobs');
    expect(seen).toHaveLength(2);
  });

  it.each([
    ['an index conflict', [500, 'Enforcing job modify index 3: job exists with conflicting job modify index: 9']],
    ['a validation error', [500, '1 error occurred:\n\t* Task group worker validation failed']],
    ['a 400', [400, 'job scaling blocked due to active deployment']],
    ['a 404', [404, 'job not found']],
  ] as Array<[string, [number, string]]>)('does not retry %s and says what failed', async (_name, failure) => {
    const { http, seen } = await serve([failure, [200, '{}']]);
    const err = await http.write('POST', '/v1/jobs', { Job: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnexpectedResponseError);
    expect(err).toMatchObject({ status: failure[0], method: 'POST', url: '/v1/jobs' });
    expect(String((err as Error).message)).not.toContain('s3cret');
    expect(seen).toHaveLength(1);
  });

  it('gives up after the configured attempts', async () => {
    const { http, seen } = await serve([[502, 'bad gateway']]);
    await expect(http.get('/v1/jobs')).rejects.toMatchObject({ status: 502 });
    expect(seen).toHaveLength(4);
  });

  it('retries a refused connection (status 0) but classifies it transient only for network codes', async () => {
    const http = new NomadHttp({ address: 'http://127.0.0.1:1', token: 's3cret', retry: { attempts: 2, baseMs: 1, maxMs: 1 } });
    const err = await http.get('/v1/jobs').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0 });
    expect(isTransient(err)).toBe(true);
    expect(JSON.stringify((err as Error).cause, Object.getOwnPropertyNames((err as Error).cause))).not.toMatch(/s3cret|X-Nomad-Token|headers/);
    expect(isEnforceIndexConflict(new UnexpectedResponseError('POST', '/v1/jobs', 500, 'rpc error: Enforcing job modify index 0: job already exists'))).toBe(true);
  });
});

describe('FrameDecoder', () => {
  it('splits concatenated frames, across chunk boundaries and with braces inside strings', () => {
    const d = new FrameDecoder();
    const a = JSON.stringify({ Offset: 3, Data: Buffer.from('{x}').toString('base64'), File: 'alloc/logs/worker.stdout.0' });
    const text = `{}${a}{"File":"a}\\"{b"}`;
    const frames = [...d.push(text.slice(0, 10)), ...d.push(text.slice(10, 30)), ...d.push(text.slice(30))];
    expect(frames).toEqual([{}, JSON.parse(a), { File: 'a}"{b' }]);
  });
});

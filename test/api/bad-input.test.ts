import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

describe('bad input on JSON routes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer();
  });
  afterAll(async () => server.close());

  const post = (payload: string | Buffer, headers: Record<string, string> = {}) =>
    server.app.inject({
      method: 'POST',
      url: '/v1/deployments/secrets',
      headers: { ...server.auth, 'content-type': 'application/json', ...headers },
      payload,
    });

  it.each([
    ['malformed JSON', '{"name": "a", ', 400, 'GANTRY_ERR_REQUEST_MALFORMED_JSON'],
    ['an empty JSON body', '', 400, 'GANTRY_ERR_REQUEST_MALFORMED_JSON'],
    ['a JSON array instead of an object', '[1,2]', 400, 'GANTRY_ERR_REQUEST_INVALID'],
    ['wrong types', '{"name": 5, "value": ["x"]}', 400, 'GANTRY_ERR_REQUEST_INVALID'],
    ['a prototype-poisoning key', '{"__proto__": {"x": 1}, "name": "a", "value": "b"}', 400, undefined],
  ])('answers %s with %i and a message', async (_name, body, status, code) => {
    const res = await post(body);
    expect(res.statusCode).toBe(status);
    const error = res.json().error;
    expect(error.message).toEqual(expect.any(String));
    if (code) expect(error.code).toBe(code);
  });

  it('answers a 2 MiB body with 413', async () => {
    const res = await post(JSON.stringify({ name: 'big', value: 'x'.repeat(2 * 1024 * 1024) }));
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('GANTRY_ERR_REQUEST_TOO_LARGE');
  });

  it('answers an unsupported content type with 415', async () => {
    const res = await post('name=a', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('GANTRY_ERR_REQUEST_MEDIA_TYPE');
  });

  it('stays healthy and stored nothing after all of it', async () => {
    expect((await server.app.inject({ url: '/health' })).statusCode).toBe(200);
    const list = await server.app.inject({ url: '/v1/deployments/secrets', headers: server.auth });
    expect(list.json().data).toEqual([]);
  });
});

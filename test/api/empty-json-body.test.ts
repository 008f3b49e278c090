import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

/** The vendor's Python SDK sends `content-type: application/json` on DELETEs without a body. */
describe('an empty body sent as application/json', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await createTestServer();
  });
  afterEach(async () => server.close());

  it('is accepted on a DELETE', async () => {
    const headers = { ...server.auth, 'content-type': 'application/json' };
    const created = await server.app.inject({ method: 'POST', url: '/v1/deployments/secrets', headers, payload: { name: 'demo-HF', value: 'v' } });
    expect(created.statusCode).toBe(200);
    const res = await server.app.inject({ method: 'DELETE', url: '/v1/deployments/secrets/demo-HF', headers });
    expect(res.statusCode).toBe(200);
  });

  it.each([
    ['malformed JSON', '{"name": '],
    ['an empty body on a POST', ''],
  ])('still refuses %s with a 400', async (_name, payload) => {
    const headers = { ...server.auth, 'content-type': 'application/json' };
    const res = await server.app.inject({ method: 'POST', url: '/v1/deployments/secrets', headers, payload });
    expect(res.json().error.code).toBe('GANTRY_ERR_REQUEST_MALFORMED_JSON');
  });
});

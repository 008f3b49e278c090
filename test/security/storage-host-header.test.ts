import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

/**
 * Issue 15 item 8: with no GANTRY_PUBLIC_URL, signed URLs and `?signed=1` redirects copied the request's
 * Host header unchecked (`Host: a"b<c` ended up in the URL). The test server listens (as far as its URLs
 * go) at https://gantry.test and has no public URL configured.
 */
describe('storage URLs and the Host header (issue 15 item 8)', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await createTestServer();
  });
  afterEach(async () => server.close());

  const withHost = (host: string) => ({ ...server.auth, host });

  it.each(['a"b<c', 'evil.example', 'evil.example:443', 'localhost:1'])('hands out the listen URL, not Host %s', async (host) => {
    const asked = await server.app.inject({ method: 'POST', url: '/v1/storage/upload-request', headers: withHost(host), payload: { filename: 'f.txt' } });
    expect(asked.statusCode, asked.body).toBe(200);
    expect(new URL(asked.json().upload_url.url).origin).toBe('https://gantry.test');
    const put = await server.app.inject({ method: 'PUT', url: new URL(asked.json().upload_url.url).pathname + new URL(asked.json().upload_url.url).search, payload: 'x' });
    expect(put.statusCode).toBe(200);
    const redirect = await server.app.inject({ method: 'GET', url: '/v1/storage/f.txt?signed=1', headers: withHost(host) });
    expect(redirect.statusCode).toBe(307);
    expect(redirect.headers.location).toMatch(/^https:\/\/gantry\.test\/v1\/storage\/f\.txt\?/);
    const deployments = await server.app.inject({ method: 'GET', url: '/v1/deployments/storage/f.txt', headers: withHost(host) });
    expect(deployments.headers.location).toMatch(/^https:\/\/gantry\.test\//);
    for (const text of [asked.body, String(redirect.headers.location)]) expect(text).not.toMatch(/evil|a"b|<c|:1\//);
  });

  it('keeps a Host that names the server at its port', async () => {
    const asked = await server.app.inject({ method: 'POST', url: '/v1/storage/upload-request', headers: withHost('localhost:443'), payload: { filename: 'f.txt' } });
    expect(new URL(asked.json().upload_url.url).origin).toBe('https://localhost');
  });
});

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import tls, { type PeerCertificate } from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
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

describe('a real server process over HTTPS, with a hostile Host header (issue 15 items 8 and 9)', () => {
  let dataDir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-host-'));
    server = await startServerProcess(dataDir);
  }, 60_000);
  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A request with exactly this Host header (fetch would not send it), trusting the server's CA. */
  const post = (host: string, pathname: string, body: unknown): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const url = new URL(server.url);
      const payload = JSON.stringify(body);
      const headers = { host, authorization: `Bearer ${server.printedAdminKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
      // The certificate is checked against the address dialled, not against the Host header sent.
      const checkServerIdentity = (_host: string, cert: PeerCertificate) => tls.checkServerIdentity(url.hostname, cert);
      const options = { hostname: url.hostname, port: url.port, path: pathname, method: 'POST', headers, ca: readFileSync(server.caFile!), checkServerIdentity };
      const req = https.request(options, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(payload);
    });

  it('signs URLs for its listen URL whatever Host says, and keeps its files owner-only', async () => {
    for (const host of ['a"b<c', 'evil.example']) {
      const res = await post(host, '/v1/storage/upload-request', { filename: 'f.txt' });
      expect(res.status, res.text).toBe(200);
      expect(new URL((JSON.parse(res.text) as { upload_url: { url: string } }).upload_url.url).origin).toBe(new URL(server.url).origin);
    }
    for (const file of ['state.db', 'state.db-wal', 'admin-key', 'signing.key', 'tls/ca-key.pem', 'tls/server-key.pem']) {
      expect((statSync(path.join(dataDir, file)).mode & 0o777).toString(8), file).toBe('600');
    }
    // Certificates are public (a sandboxed replica reads the CA through a bind), inside a 0700 directory.
    expect((statSync(path.join(dataDir, 'tls/ca.pem')).mode & 0o777).toString(8)).toBe('644');
    expect((statSync(path.join(dataDir, 'tls')).mode & 0o777).toString(8)).toBe('700');
    expect((statSync(dataDir).mode & 0o777).toString(8)).toBe('700');
  });
});

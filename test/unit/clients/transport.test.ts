import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundTransport, TransportError } from '../../../src/clients/transport.js';

const TOKEN = 'x-token-3f2e1d0c9b8a';

describe('OutboundTransport', () => {
  let server: http.Server;
  let url: string;
  let lastHeaders: http.IncomingHttpHeaders = {};

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      lastHeaders = req.headers;
      if (req.url?.startsWith('/slow')) return void setTimeout(() => res.end('late'), 2_000);
      res.writeHead(req.url === '/fail' ? 502 : 200, { 'content-type': 'text/plain' }).end(`saw ${JSON.stringify(req.headers)}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends its headers and userinfo as basic auth, and answers every status', async () => {
    const transport = new OutboundTransport({ baseUrl: url.replace('http://', 'http://svc:pa55w0rd@'), headers: { 'X-Consul-Token': TOKEN } });
    const res = await transport.request<string>({ url: '/ok', responseType: 'text' });
    expect(res.status).toBe(200);
    expect(lastHeaders['x-consul-token']).toBe(TOKEN);
    expect(lastHeaders.authorization).toBe(`Basic ${Buffer.from('svc:pa55w0rd').toString('base64')}`);
    transport.close();
  });

  it('blanks credentials in an error status body', async () => {
    const transport = new OutboundTransport({ baseUrl: url, headers: { 'X-Nomad-Token': TOKEN } });
    const res = await transport.request<string>({ url: '/fail', responseType: 'text', headers: { 'X-Vault-Token': 'per-request-token' } });
    expect(res.status).toBe(502);
    expect(res.data).toContain('<redacted>');
    expect(res.data).not.toContain(TOKEN);
    expect(res.data).not.toContain('per-request-token');
    transport.close();
  });

  it('blanks credentials in the error body of a streaming request too', async () => {
    const transport = new OutboundTransport({ baseUrl: url, headers: { 'X-Nomad-Token': TOKEN } });
    const res = await transport.request<string>({ url: '/fail', responseType: 'stream' });
    expect(res.status).toBe(502);
    expect(res.data).toContain('<redacted>');
    expect(res.data).not.toContain(TOKEN);
    transport.close();
  });

  it.each([
    ['a timeout', { url: '/slow', timeout: 100 }, 'ETIMEDOUT'],
    ['an abort', { url: '/slow', signal: AbortSignal.timeout(100) }, 'ERR_CANCELED'],
  ])('turns %s into a TransportError holding nothing but method, url, code and message', async (_name, config, code) => {
    const transport = new OutboundTransport({ baseUrl: url, headers: { 'X-Consul-Token': TOKEN } });
    const err = await transport.request({ ...config, url: `${config.url}?token=${TOKEN}` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ code, method: 'GET', url: '/slow?token=<redacted>' });
    expect(Object.keys(err as object).sort()).toEqual(['code', 'method', 'name', 'url']);
    expect(JSON.stringify(err) + String(err)).not.toContain(TOKEN);
    transport.close();
  });
});

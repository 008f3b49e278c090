import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextReadiness, probeHealth, type HealthResult } from '../../../../src/scheduler/local/health.js';
import { isFree } from '../../../../src/scheduler/local/ports.js';

describe('probeHealth', () => {
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    // /ok answers 200, /sick 503, /hang never answers (a synchronous worker busy in predict).
    server = http.createServer((req, res) => {
      if (req.url === '/hang') return;
      res.writeHead(req.url === '/ok' ? 200 : 503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    { path: '/ok', expected: 'ok' },
    { path: '/sick', expected: 'unhealthy' },
    { path: '/hang', expected: 'busy' },
  ])('says $expected for $path', async ({ path, expected }) => {
    expect(await probeHealth(port, path, 300)).toBe(expected);
  });

  it('says down when nothing listens', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await isFree(freePort)).toBe(true);
    expect(await probeHealth(freePort, '/health', 300)).toBe('down');
  });
});

describe('nextReadiness', () => {
  it.each<{ was: boolean; result: HealthResult; ready: boolean }>([
    { was: false, result: 'ok', ready: true },
    { was: true, result: 'unhealthy', ready: false },
    { was: true, result: 'down', ready: false },
    { was: true, result: 'busy', ready: true },
    { was: false, result: 'busy', ready: false },
  ])('goes from ready=$was to $ready on $result', ({ was, result, ready }) => {
    expect(nextReadiness(was, result)).toBe(ready);
  });
});

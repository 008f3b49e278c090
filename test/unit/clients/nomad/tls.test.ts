import { mkdtempSync, rmSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NomadHttp } from '../../../../src/clients/nomad/http.js';
import { ensureLocalTls, type LocalTls } from '../../../../src/tls/local-ca.js';

describe('NomadHttp over TLS', () => {
  let dir: string;
  let tls: LocalTls;
  let app: FastifyInstance;
  let address: string;
  const peers: boolean[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gantry-nomad-tls-'));
    tls = await ensureLocalTls({ dir, hostnames: [] });
    app = Fastify({ https: { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: false } });
    app.get('/v1/agent/self', async (request) => {
      peers.push(Object.keys((request.raw.socket as TLSSocket).getPeerCertificate()).length > 0);
      return { config: {} };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    address = `https://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies the agent with the configured CA and presents the client certificate', async () => {
    const http = new NomadHttp({ address, tls: { ca: tls.ca, cert: tls.cert, key: tls.key } });
    await expect(http.get('/v1/agent/self')).resolves.toMatchObject({ data: { config: {} } });
    expect(peers.at(-1)).toBe(true);
  });

  it('refuses an agent whose certificate it cannot verify, without retrying', async () => {
    const http = new NomadHttp({ address, retry: { attempts: 3, baseMs: 1, maxMs: 1 } });
    const before = peers.length;
    await expect(http.get('/v1/agent/self')).rejects.toMatchObject({ status: 0 });
    expect(peers.length).toBe(before);
  });
});

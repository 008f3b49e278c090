import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulClient } from '../../src/clients/consul/index.js';
import { NomadClient } from '../../src/clients/nomad/index.js';
import { createVaultClient } from '../../src/secrets/vault/vault-client.js';
import { VaultKv } from '../../src/secrets/vault/vault-kv.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';
import { createConsulDouble, type ConsulDouble } from '../doubles/consul/consul-double.js';
import { createVaultDouble, type VaultDouble } from '../doubles/vault/vault-double.js';
import { createFaultyFront, type FaultyFront } from '../helpers/faulty-front.js';
import { createTestServer, type TestServer } from '../helpers/test-server.js';

/**
 * Issue 15 item 3: the Consul client let axios's error escape, carrying `X-Consul-Token`; Vault network
 * errors carried the Vault token (`VaultKvError.cause`); both were logged past the logger's redaction.
 * Each client is driven into a network error and a 5xx with a token set, and what it throws is logged by
 * the real logger; then a server on Consul and Vault loses them both, and its error handler, leadership
 * runner and autoscaler log what they hit.
 */
const CONSUL_TOKEN = 'consul-acl-7c1d2e3f4a5b6c7d8e9f';
const NOMAD_TOKEN = 'nomad-acl-1a2b3c4d5e6f7a8b9c0d';
const VAULT_TOKEN = 'hvs.vault-token-9f8e7d6c5b4a3f2e1d';
const SECRET_ID = 'approle-secret-id-5e4d3c2b1a0f';
const USERINFO_PASSWORD = 'basic-pass-0a9b8c7d6e';
const SECRETS = [CONSUL_TOKEN, NOMAD_TOKEN, VAULT_TOKEN, SECRET_ID, USERINFO_PASSWORD];

function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'trace', destination: { write: (line: string) => void lines.push(line) } }), lines };
}

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text, `leaked ${secret}`).not.toContain(secret);
}

/** Whatever `call` rejects with, as a logger and a console would print it. */
async function loggedFailure(call: () => Promise<unknown>): Promise<string> {
  const err = await call().then(
    () => expect.fail('the call should fail'),
    (e: unknown) => e,
  );
  const { logger, lines } = capturingLogger();
  logger.error({ err }, 'call failed');
  logger.error(err as Error);
  expect(lines.join('')).toContain('call failed');
  return lines.join('') + inspect(err, { depth: 20, showHidden: true });
}

describe('outbound client errors carry no credentials (issue 15 item 3)', () => {
  let refused: string;
  let echo500: FaultyFront;

  beforeAll(async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    refused = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    echo500 = await createFaultyFront(refused);
    echo500.mode = 'echo500';
  });
  afterAll(async () => echo500.close());

  const where = () => [
    ['a network error', refused],
    ['a 5xx echoing the request', echo500.url],
  ];

  it('Consul: kv.get', async () => {
    for (const [, url] of where()) {
      const consul = new ConsulClient({ address: url!, token: CONSUL_TOKEN, attempts: 1 });
      expectNoSecret(await loggedFailure(() => consul.kv.get('gantry/leader')));
      consul.close();
    }
  });

  it('Consul: an address with userinfo', async () => {
    const address = refused.replace('http://', `http://gantry:${USERINFO_PASSWORD}@`);
    const consul = new ConsulClient({ address, token: CONSUL_TOKEN, attempts: 1 });
    expectNoSecret(await loggedFailure(() => consul.kv.get('k')));
  });

  it('Nomad: jobs.list', async () => {
    for (const [, url] of where()) {
      const nomad = new NomadClient({ address: url!, token: NOMAD_TOKEN, retry: { attempts: 1, baseMs: 1, maxMs: 1 } });
      expectNoSecret(await loggedFailure(() => nomad.jobs.list('gantry-')));
    }
  });

  it('Vault: VaultKv.read, token lookup-self and AppRole login through node-vault', async () => {
    for (const [, url] of where()) {
      const vault = createVaultClient({ address: url!, timeoutMs: 5_000 });
      vault.token = VAULT_TOKEN;
      expectNoSecret(await loggedFailure(() => new VaultKv(vault, 'secret').read('gantry/secrets/x')));
      expectNoSecret(await loggedFailure(() => vault.tokenLookupSelf()));
      expectNoSecret(await loggedFailure(() => vault.approleLogin({ role_id: 'role', secret_id: SECRET_ID })));
    }
  });
});

describe('a server whose Consul and Vault fail logs no token (issue 15 item 3)', () => {
  let consul: ConsulDouble;
  let vault: VaultDouble;
  let consulFront: FaultyFront;
  let vaultFront: FaultyFront;
  let server: TestServer;
  const { logger, lines } = capturingLogger();

  beforeAll(async () => {
    consul = await createConsulDouble({ aclToken: CONSUL_TOKEN });
    vault = await createVaultDouble({ rootToken: VAULT_TOKEN });
    consulFront = await createFaultyFront(consul.url);
    vaultFront = await createFaultyFront(vault.url);
    server = await createTestServer({
      env: { CONSUL_HTTP_ADDR: consulFront.url, CONSUL_HTTP_TOKEN: CONSUL_TOKEN, VAULT_ADDR: vaultFront.url, VAULT_TOKEN, GANTRY_LEADER_TTL_SECONDS: '10' },
      logger,
    });
    await server.deps.leadership.settled();
  });
  afterAll(async () => {
    consulFront.mode = 'pass';
    vaultFront.mode = 'pass';
    await server.close();
    await Promise.all([consulFront.close(), vaultFront.close(), consul.close(), vault.close()]);
  });

  it('through the API error handler, the leadership runner and the autoscaler', async () => {
    const created = await server.app.inject({ method: 'POST', url: '/v1/deployments', headers: server.auth, payload: { name: 'd', image: 'img', gpu_type: 'none' } });
    expect(created.statusCode, created.body).toBe(200);
    for (const mode of ['reset', 'echo500'] as const) {
      consulFront.mode = mode;
      vaultFront.mode = mode;
      for (const url of ['/v1/deployments', '/v1/deployments/secrets', '/v1/deployments/d']) {
        const res = await server.app.inject({ method: 'GET', url, headers: server.auth });
        expect(res.statusCode, `${mode} ${url}`).toBeGreaterThanOrEqual(500);
        expectNoSecret(res.body);
      }
      // The autoscaler ticks every second and the heartbeat passes every TTL/2; while Consul is gone for
      // longer than the TTL (10 s), the replica also loses leadership and campaigns again.
      await new Promise((resolve) => setTimeout(resolve, mode === 'reset' ? 12_000 : 3_000));
    }
    const messages = new Set(lines.map((line) => (JSON.parse(line) as { msg: string }).msg));
    for (const path of ['request failed', 'autoscaler: listing deployments failed', 'leader-election heartbeat failed; retrying', 'this replica is no longer the leader']) {
      expect(messages, path).toContain(path);
    }
    expectNoSecret(lines.join(''));
  }, 90_000);
});

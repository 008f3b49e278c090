import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { problemsOf } from '../../helpers/config-problems.js';

const load = (env: Record<string, string>) => loadConfig({ env, cwd: '/srv/gantry' });

describe('cluster settings', () => {
  it('uses nothing from the cluster when no address is set', () => {
    const config = load({});
    expect(config.cluster.consul).toBeUndefined();
    expect(config.cluster.vault).toBeUndefined();
  });

  it('needs an advertise URL with Consul when listening on every address', () => {
    expect(problemsOf(() => load({ CONSUL_HTTP_ADDR: '127.0.0.1:8500', GANTRY_HOST: '0.0.0.0' })).join('\n')).toMatch(/GANTRY_ADVERTISE_URL/);
    const config = load({ CONSUL_HTTP_ADDR: '127.0.0.1:8500', GANTRY_HOST: '0.0.0.0', GANTRY_ADVERTISE_URL: 'https://10.0.0.5:8443/' });
    expect(config.advertiseUrl).toBe('https://10.0.0.5:8443');
    expect(load({ CONSUL_HTTP_ADDR: '127.0.0.1:8500', GANTRY_HOST: '::', GANTRY_PUBLIC_URL: 'https://gantry.example.com' }).advertiseUrl).toBeUndefined();
  });

  it('reads Consul from its standard variables, host:port included', () => {
    const config = load({
      CONSUL_HTTP_ADDR: 'consul.service:8501',
      CONSUL_HTTP_SSL: 'true',
      CONSUL_HTTP_TOKEN: 'tok',
      CONSUL_CACERT: 'ca.pem',
      CONSUL_CLIENT_CERT: 'c.pem',
      CONSUL_CLIENT_KEY: 'k.pem',
      GANTRY_CONSUL_DATACENTER: 'dc2',
    });
    expect(config.cluster.consul).toEqual({
      address: 'https://consul.service:8501',
      token: 'tok',
      caFile: '/srv/gantry/ca.pem',
      certFile: '/srv/gantry/c.pem',
      keyFile: '/srv/gantry/k.pem',
      datacenter: 'dc2',
      kvPrefix: 'gantry/',
      leaderTtlSeconds: 15,
      leaderLockDelaySeconds: 5,
    });
    expect(config.cluster.consulAddr).toBe('https://consul.service:8501');
    expect(load({ CONSUL_HTTP_ADDR: '127.0.0.1:8500' }).cluster.consul?.address).toBe('http://127.0.0.1:8500');
  });

  it('reads Vault with a token, or with AppRole, and its KV mount and prefix', () => {
    const token = load({ VAULT_ADDR: 'https://vault:8200/', VAULT_TOKEN: 'hvs.x', GANTRY_VAULT_KV_MOUNT: 'kv', GANTRY_VAULT_PREFIX: 'team/gantry' });
    expect(token.cluster.vault).toMatchObject({ address: 'https://vault:8200', auth: { kind: 'token', token: 'hvs.x' }, kvMount: 'kv', prefix: 'team/gantry' });
    const approle = load({ VAULT_ADDR: 'https://vault:8200', GANTRY_VAULT_ROLE_ID: 'r', GANTRY_VAULT_SECRET_ID: 's' });
    expect(approle.cluster.vault?.auth).toEqual({ kind: 'approle', roleId: 'r', secretId: 's', mountPath: 'approle' });
    expect(approle.cluster.vault).toMatchObject({ kvMount: 'secret', prefix: 'gantry' });
  });

  it.each([
    ['Vault without any way to log in', { VAULT_ADDR: 'http://v:8200' }, 'VAULT_ADDR'],
    ['half an AppRole', { VAULT_ADDR: 'http://v:8200', GANTRY_VAULT_ROLE_ID: 'r' }, 'GANTRY_VAULT_SECRET_ID'],
    ['a token and an AppRole', { VAULT_ADDR: 'http://v:8200', VAULT_TOKEN: 't', GANTRY_VAULT_ROLE_ID: 'r', GANTRY_VAULT_SECRET_ID: 's' }, 'choose one'],
    ['a Vault token without Vault', { VAULT_TOKEN: 't' }, 'without VAULT_ADDR'],
    ['a Consul client cert without its key', { CONSUL_HTTP_ADDR: 'https://c:8501', CONSUL_CLIENT_CERT: 'c.pem' }, 'CONSUL_CLIENT_KEY'],
    ['Consul TLS files over plain http', { CONSUL_HTTP_ADDR: 'http://c:8500', CONSUL_CACERT: 'ca.pem' }, 'https'],
    ['a Consul token without Consul', { CONSUL_HTTP_TOKEN: 't' }, 'without CONSUL_HTTP_ADDR'],
    ['a Consul address that is no address', { CONSUL_HTTP_ADDR: 'ftp://c' }, 'CONSUL_HTTP_ADDR'],
  ])('refuses %s with a message naming the variables', (_name, env, expected) => {
    expect(problemsOf(() => load(env)).join('\n')).toContain(expected);
  });

  it('never echoes a token or secret id in a problem', () => {
    const problems = problemsOf(() => load({ VAULT_ADDR: 'http://v:8200', VAULT_TOKEN: 'tok-123', GANTRY_VAULT_SECRET_ID: 'sec-456', CONSUL_HTTP_TOKEN: '' }));
    expect(problems.join('\n')).not.toMatch(/tok-123|sec-456/);
    const invalid = problemsOf(() => load({ CONSUL_HTTP_ADDR: 'http://c:8500', GANTRY_CONSUL_KV_PREFIX: 'bad prefix', CONSUL_HTTP_TOKEN: 'tok-789' }));
    expect(invalid.join('\n')).toContain('GANTRY_CONSUL_KV_PREFIX');
    expect(invalid.join('\n')).not.toContain('tok-789');
  });
});

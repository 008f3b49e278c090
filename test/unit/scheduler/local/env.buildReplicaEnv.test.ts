import { describe, expect, it } from 'vitest';
import { buildReplicaEnv, replicaArgv, type ReplicaEnvInput } from '../../../../src/scheduler/local/env.js';

function input(overrides: Partial<ReplicaEnvInput> = {}): ReplicaEnvInput {
  return {
    base: { PATH: '/usr/bin:/bin', HOME: '/home/gantry', LANG: 'C.UTF-8', GANTRY_ADMIN_KEY: 'do-not-leak', VAULT_TOKEN: 'x' },
    spec: { env: { TOGETHER_API_BASE_URL: 'https://gantry:8443', MODEL: 'small' }, secretEnv: { HF_TOKEN: 'hf_secret' } },
    token: 'wt_replica_token',
    port: 41234,
    gpus: [],
    caFile: undefined,
    publicUrl: 'https://fallback:8443',
    venvDir: undefined,
    ...overrides,
  };
}

describe('buildReplicaEnv', () => {
  it('keeps only the base variables a program needs from the server environment', () => {
    const env = buildReplicaEnv(input());
    expect(env).toMatchObject({ PATH: '/usr/bin:/bin', HOME: '/home/gantry', LANG: 'C.UTF-8' });
    expect(env).not.toHaveProperty('GANTRY_ADMIN_KEY');
    expect(env).not.toHaveProperty('VAULT_TOKEN');
  });

  it('layers the deployment variables, then secrets, then the platform values, which win', () => {
    const spec = { env: { TOGETHER_API_KEY: 'users-own-key', PORT: '8000', MODEL: 'small' }, secretEnv: { HF_TOKEN: 'hf' } };
    const env = buildReplicaEnv(input({ spec }));
    expect(env).toMatchObject({ MODEL: 'small', HF_TOKEN: 'hf', TOGETHER_API_KEY: 'wt_replica_token', PORT: '41234' });
  });

  it.each([
    { gpus: [], expected: '' },
    { gpus: [1], expected: '1' },
    { gpus: [0, 3], expected: '0,3' },
  ])('sets CUDA_VISIBLE_DEVICES to "$expected" for GPUs $gpus', ({ gpus, expected }) => {
    expect(buildReplicaEnv(input({ gpus })).CUDA_VISIBLE_DEVICES).toBe(expected);
  });

  it('points Python and Node at the CA certificate when there is one', () => {
    const env = buildReplicaEnv(input({ caFile: '/data/tls/ca.pem' }));
    expect(env).toMatchObject({ SSL_CERT_FILE: '/data/tls/ca.pem', REQUESTS_CA_BUNDLE: '/data/tls/ca.pem', NODE_EXTRA_CA_CERTS: '/data/tls/ca.pem' });
    expect(buildReplicaEnv(input())).not.toHaveProperty('SSL_CERT_FILE');
  });

  it('keeps the spec TOGETHER_API_BASE_URL and falls back to the public URL without one', () => {
    expect(buildReplicaEnv(input()).TOGETHER_API_BASE_URL).toBe('https://gantry:8443');
    const spec = { env: {}, secretEnv: {} };
    expect(buildReplicaEnv(input({ spec })).TOGETHER_API_BASE_URL).toBe('https://fallback:8443');
  });

  it('puts the virtualenv first on PATH and sets VIRTUAL_ENV', () => {
    const env = buildReplicaEnv(input({ venvDir: '/data/venvs/abc' }));
    expect(env).toMatchObject({ VIRTUAL_ENV: '/data/venvs/abc', PATH: '/data/venvs/abc/bin:/usr/bin:/bin' });
  });

  it('gives each replica its own Sprocket marker directory, which the deployment cannot override', () => {
    const spec = { env: { SPROCKET_MARKER_DIR: '/shared' }, secretEnv: {} };
    expect(buildReplicaEnv(input({ spec, markerDir: '/data/replicas/r1' })).SPROCKET_MARKER_DIR).toBe('/data/replicas/r1');
  });
});

describe('replicaArgv', () => {
  it.each([
    { cmd: ['python', 'app.py'], venv: '/v', expected: ['/v/bin/python', 'app.py'] },
    { cmd: ['python3', '-m', 'worker'], venv: '/v', expected: ['/v/bin/python', '-m', 'worker'] },
    { cmd: ['uvicorn', 'app:app'], venv: '/v', expected: ['uvicorn', 'app:app'] },
    { cmd: ['python', 'app.py'], venv: undefined, expected: ['python', 'app.py'] },
  ])('runs $cmd as $expected', ({ cmd, venv, expected }) => {
    expect(replicaArgv(cmd, venv)).toEqual(expected);
  });
});

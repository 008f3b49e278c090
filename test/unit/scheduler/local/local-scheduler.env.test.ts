import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupTestSchedulers,
  createTestScheduler,
  getJson,
  waitFor,
  waitForReady,
  workerSpec,
} from '../../../contracts/scheduler-support.js';

describe('LocalScheduler replica environment', () => {
  afterEach(cleanupTestSchedulers);

  it('gives a replica a clean environment with its token, port, GPUs, secrets and CA, and no server variables', async () => {
    const server = { ...process.env, GANTRY_ADMIN_KEY: 'server-only-value', AWS_SECRET_ACCESS_KEY: 'server-only' };
    const { scheduler, tokens } = createTestScheduler({ baseEnv: server, caFile: '/etc/gantry/ca.pem' });
    const spec = workerSpec({ env: { MODEL: 'tiny', TOGETHER_API_BASE_URL: 'https://gantry.test:8443' }, secretEnv: { HF_TOKEN: 'hf_test' } });
    await scheduler.apply(spec);
    const [replica] = await waitForReady(scheduler, spec.deploymentId);
    const env = await getJson<Record<string, string>>(replica!.address!.port, '/env');
    expect(env).not.toHaveProperty('GANTRY_ADMIN_KEY');
    expect(env).not.toHaveProperty('AWS_SECRET_ACCESS_KEY');
    expect(env).toMatchObject({
      MODEL: 'tiny',
      HF_TOKEN: 'hf_test',
      TOGETHER_API_BASE_URL: 'https://gantry.test:8443',
      TOGETHER_API_KEY: tokens.tokenOf(replica!.replicaId),
      PORT: String(replica!.address!.port),
      CUDA_VISIBLE_DEVICES: '',
      SSL_CERT_FILE: '/etc/gantry/ca.pem',
      REQUESTS_CA_BUNDLE: '/etc/gantry/ca.pem',
      PATH: process.env.PATH,
    });
    // PORT is how a local replica learns its port: nothing is appended to its command line.
    expect(await getJson(replica!.address!.port, '/argv')).toEqual([]);
  });

  it('revokes the token of a replica that is gone', async () => {
    const { scheduler, tokens } = createTestScheduler();
    const spec = workerSpec({ replicas: 2 });
    await scheduler.apply(spec);
    await waitForReady(scheduler, spec.deploymentId, 2);
    await scheduler.scale(spec.deploymentId, 1);
    const gone = tokens.issued[1]!.replicaId;
    await waitFor('a revoked token', () => tokens.revoked.some((r) => r.replicaId === gone));
    await scheduler.stop(spec.deploymentId);
    expect(tokens.revoked).toContainEqual({ deploymentId: spec.deploymentId, replicaId: undefined });
  });

  it('writes secret values only to the replica files, owner-readable', async () => {
    const { scheduler, dataDir } = createTestScheduler();
    const spec = workerSpec({ secretEnv: { HF_TOKEN: 'hf_test' } });
    await scheduler.apply(spec);
    const [replica] = await waitFor('a replica', () => scheduler.replicas(spec.deploymentId).then((r) => (r.length ? r : undefined)));
    const file = path.join(dataDir, 'replicas', replica!.replicaId, 'replica.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain('wt_'); // worker tokens are never written down
  });
});

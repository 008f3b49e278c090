import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { clusterSettingsOf } from '../../../src/scheduler/nomad/from-config.js';
import { problemsOf } from '../../helpers/config-problems.js';

describe('loadConfig: Nomad settings', () => {
  it('reads the NOMAD_* variables and the worker-job settings', () => {
    const config = loadConfig({
      cwd: '/srv',
      env: {
        NOMAD_ADDR: 'https://nomad.internal:4646', NOMAD_TOKEN: 'tok', NOMAD_NAMESPACE: 'ml', NOMAD_REGION: 'eu',
        NOMAD_CACERT: 'ca.pem', NOMAD_CLIENT_CERT: 'c.pem', NOMAD_CLIENT_KEY: 'k.pem',
        GANTRY_NOMAD_DATACENTERS: 'dc1, dc2', GANTRY_NOMAD_NODE_POOL: 'gpu',
        GANTRY_NOMAD_CONSTRAINTS: '[{"attribute":"${node.class}","value":"gpu"}]',
        GANTRY_NOMAD_HEALTHY_DEADLINE_SECONDS: '900',
        GANTRY_GPU_TYPES: '{"a100-40gb":{"model":"A100","memory_mib":39000}}',
      },
    });
    expect(config.nomad).toMatchObject({
      token: 'tok', namespace: 'ml', region: 'eu', caCertFile: '/srv/ca.pem', clientCertFile: '/srv/c.pem', clientKeyFile: '/srv/k.pem',
      datacenters: ['dc1', 'dc2'], nodePool: 'gpu', healthyDeadlineSeconds: 900, imagePullTimeoutSeconds: 1800,
    });
    expect(config.gpuTypes).toEqual({ 'a100-40gb': { model: 'A100', memory_mib: 39000 } });
    expect(clusterSettingsOf(config)).toMatchObject({ namespace: 'ml', region: 'eu', nodePool: 'gpu', constraints: [{ LTarget: '${node.class}', Operand: '=', RTarget: 'gpu' }] });
  });

  it('defaults to the default namespace and every datacenter', () => {
    const config = loadConfig({ env: {} });
    expect(config.nomad).toMatchObject({ namespace: 'default', datacenters: ['*'], constraints: [], token: undefined });
    expect(config.gpuTypes).toEqual({});
  });

  it('names the variable of a bad value and never echoes the Nomad token', () => {
    const problems = problemsOf(() => loadConfig({ env: { NOMAD_TOKEN: '', GANTRY_GPU_TYPES: '{"Bad Name":{}}', GANTRY_NOMAD_CONSTRAINTS: 'not json' } }));
    expect(problems.join('\n')).toMatch(/GANTRY_GPU_TYPES/);
    expect(problems.join('\n')).toMatch(/GANTRY_NOMAD_CONSTRAINTS/);
    const fromFile = problemsOf(() => loadConfig({ env: {}, flags: { nomad_token: 'x' as never, nomad_image_pull_timeout_seconds: 1 } }));
    expect(fromFile.join('\n')).toMatch(/nomad-image-pull-timeout-seconds/);
  });

  it('redacts the token in a problem about it', () => {
    const problems = problemsOf(() => loadConfig({ env: {}, flags: { nomad_token: 42 as never } }));
    expect(problems.join('\n')).not.toContain('42');
  });

  it('wants both the client certificate and its key', () => {
    expect(problemsOf(() => loadConfig({ env: { NOMAD_CLIENT_CERT: 'c.pem' } })).join()).toMatch(/NOMAD_CLIENT_KEY/);
  });
});

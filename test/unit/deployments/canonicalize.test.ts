import { describe, expect, it } from 'vitest';
import { CreateDeploymentBody } from '../../../src/api/schemas/deployments.js';
import { canonicalizeAutoscaling, canonicalizeCreate, canonicalizeUpdate } from '../../../src/deployments/canonicalize.js';
import type { DeploymentSpec } from '../../../src/deployments/types.js';

const minimal = { name: 'hello', image: 'registry.local/hello:latest', gpu_type: 'none' };

describe('canonicalizeCreate', () => {
  it('fills the defaults, max_replicas from min_replicas', () => {
    const spec = canonicalizeCreate(CreateDeploymentBody.parse({ ...minimal, min_replicas: 2 }));
    expect(spec).toMatchObject({
      description: '',
      gpu_count: 0,
      cpu: 1,
      memory: 8,
      storage: 100,
      min_replicas: 2,
      max_replicas: 2,
      port: 8000,
      health_check_path: '/health',
      termination_grace_period_seconds: 300,
      command: [],
      args: [],
      environment_variables: [],
      volumes: [],
      autoscaling: null,
      x_gantry_source: null,
    });
  });

  it('keeps volume versions open when not sent and literal when sent (0 included)', () => {
    const volumes = [
      { name: 'a', mount_path: '/a/' },
      { name: 'b', mount_path: '/b', version: 0 },
    ];
    const spec = canonicalizeCreate(CreateDeploymentBody.parse({ ...minimal, volumes }));
    expect(spec.volumes).toEqual([
      { name: 'a', mount_path: '/a', version: undefined },
      { name: 'b', mount_path: '/b', version: 0 },
    ]);
  });
});

describe('canonicalizeAutoscaling', () => {
  it.each([
    { name: 'null is off', input: null, want: null },
    { name: '{} is off (§8.25)', input: {}, want: null },
    {
      name: 'queue backlog with defaults',
      input: { metric: 'QueueBacklogPerWorker' as const },
      want: { metric: 'QueueBacklogPerWorker', target: 1.01, model: 'hello' },
    },
    {
      name: 'the old profile/targetValue form',
      input: { profile: 'QueueBacklogPerWorker', targetValue: '1.05' },
      want: { metric: 'QueueBacklogPerWorker', target: 1.05, model: 'hello' },
    },
    {
      name: 'custom metric',
      input: { metric: 'CustomMetric' as const, custom_metric_name: 'vllm:num_requests_running', target: 4 },
      want: { metric: 'CustomMetric', target: 4, custom_metric_name: 'vllm:num_requests_running' },
    },
    {
      name: 'HTTP requests with the default window',
      input: { metric: 'HTTPTotalRequests' as const },
      want: { metric: 'HTTPTotalRequests', target: 100, time_interval_minutes: 10 },
    },
  ])('$name', ({ input, want }) => {
    expect(canonicalizeAutoscaling(input, 'hello')).toEqual(want);
  });

  it.each([
    { name: 'a target without a metric', input: { target: 2 }, param: 'autoscaling.metric' },
    { name: 'CustomMetric without a name', input: { metric: 'CustomMetric' as const }, param: 'autoscaling.custom_metric_name' },
    { name: 'an unknown old profile', input: { profile: 'Bogus' }, param: 'autoscaling.metric' },
    { name: 'a non-numeric targetValue', input: { profile: 'QueueBacklogPerWorker', targetValue: 'x' }, param: 'autoscaling.targetValue' },
  ])('refuses $name', ({ input, param }) => {
    expect(() => canonicalizeAutoscaling(input, 'hello')).toThrow(expect.objectContaining({ param }));
  });
});

describe('canonicalizeUpdate', () => {
  const current = canonicalizeCreate(CreateDeploymentBody.parse({ ...minimal, environment_variables: [{ name: 'A', value: '1' }] }));
  const asSpec = { ...current, volumes: [] } as DeploymentSpec;

  it('keeps absent fields and replaces lists whole', () => {
    const next = canonicalizeUpdate(asSpec, { environment_variables: [{ name: 'B', value: '2' }], cpu: 2 }, 'hello');
    expect(next.environment_variables).toEqual([{ name: 'B', value: '2' }]);
    expect(next.cpu).toBe(2);
    expect(next.image).toBe(minimal.image);
  });

  it('turns autoscaling off with {} and keeps it when absent', () => {
    const on = canonicalizeUpdate(asSpec, { autoscaling: { metric: 'QueueBacklogPerWorker', target: 2 } }, 'hello');
    expect(on.autoscaling).toMatchObject({ target: 2 });
    expect(canonicalizeUpdate({ ...on, volumes: [] } as DeploymentSpec, {}, 'hello').autoscaling).toMatchObject({ target: 2 });
    expect(canonicalizeUpdate({ ...on, volumes: [] } as DeploymentSpec, { autoscaling: {} }, 'hello').autoscaling).toBeNull();
  });
});

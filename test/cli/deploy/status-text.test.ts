import { describe, expect, it } from 'vitest';
import { age, formatStatus, shortImage } from '../../../cli/src/deploy/status-text.js';

const NOW = Date.parse('2026-03-10T12:00:00Z');

describe('age', () => {
  it.each([
    ['seconds', '2026-03-10T11:59:30Z', '30s'],
    ['two units at most', '2026-03-06T00:30:00Z', '4d11h'],
    ['months', '2026-01-01T00:00:00Z', '2mo8d'],
    ['no time at all', '2026-03-10T12:00:00Z', '0s'],
    ['an unparsable value', 'yesterday', '-'],
    ['a missing value', undefined, '-'],
  ])('formats %s', (_name, iso, expected) => {
    expect(age(iso, NOW)).toBe(expected);
  });
});

describe('shortImage', () => {
  it('strips our registry and cuts a digest to 8 characters', () => {
    expect(shortImage('registry.example.com/team/demo@sha256:0123456789abcdef', 'registry.example.com/team/')).toBe('demo@sha256:01234567');
    expect(shortImage('vllm/vllm-openai:v0.17.1', 'registry.example.com/team/')).toBe('vllm/vllm-openai:v0.17.1');
  });
});

describe('formatStatus', () => {
  it('renders the original layout', () => {
    const text = formatStatus(
      {
        id: 'dep_1', name: 'qwen', image: 'registry.example.com/team/qwen@sha256:aaaaaaaabbbb', status: 'Ready',
        created_at: '2026-03-06T00:30:00Z', updated_at: '2026-03-10T11:00:00Z',
        autoscaling: { metric: 'CustomMetric', target: 4 }, ready_replicas: 1, desired_replicas: 2, min_replicas: 1, max_replicas: 10,
        gpu_count: 2, gpu_type: 'h100-80gb', volumes: [{ name: 'weights', mount_path: '/weights' }], cpu: 4, memory: 64, storage: 100,
        command: ['vllm', 'serve'], port: 9000, health_check_path: '/health',
        environment_variables: [
          { name: 'NCCL_DEBUG', value: 'WARN' },
          { name: 'TOGETHER_DEPLOYMENT_REVISION_ID', value: 'rev' },
          { name: 'HF_TOKEN', value_from_secret: 'qwen-HF_TOKEN' },
        ],
        replica_events: {
          r1: { image: 'registry.example.com/team/qwen@sha256:aaaaaaaabbbb', replica_status: 'Running', replica_ready_since: '2026-03-10T11:58:00Z' },
          r2: { image: 'registry.example.com/team/qwen@sha256:aaaaaaaabbbb', replica_status: 'Waiting' },
        },
      },
      NOW,
      'registry.example.com/team/',
    );
    expect(text).toBe(`App:
  Name    : qwen \u2503 ID: dep_1
  Image   : qwen@sha256:aaaaaaaa
  Status  : Ready
  Created : 4d11h \u2503 Updated : 1h
  Autoscaling: CustomMetric 4.0 (target)
  Replicas: 1/2 ready (min 1, max 10)

Configuration:
  GPU: 2x h100-80gb
  Volume: weights \u2192 /weights
  Resources: 4.0 core CPU \u2503 64.0GB Memory \u2503 100GB Storage
  Command: ['vllm', 'serve']
  Port: 9000
  Health Check Path: /health
  Secrets: HF_TOKEN
  Environment Variables:
    NAME                                     VALUE
    NCCL_DEBUG                               WARN

Replica Events:
qwen@sha256:aaaaaaaa:
  r1: Running, ready 2m
  r2: Waiting
`);
  });

  it('says (none) without volumes and leaves out what is unset', () => {
    const text = formatStatus({ name: 'cpu', id: 'd', status: 'Updating', cpu: 1, memory: 2, port: 8000 }, NOW, '');
    expect(text).toContain('  Volume: (none)\n  Resources: 1.0 core CPU \u2503 2.0GB Memory\n');
    expect(text).not.toContain('GPU:');
    expect(text).not.toContain('Replica Events');
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_GPU_TYPES, GpuCatalog, gpuTypeFromOptions } from '../../../../src/deployments/gpu-catalog.js';
import { deviceConstraints, gpuDevices } from '../../../../src/scheduler/nomad/devices.js';
import { translateJob, type TranslateInput } from '../../../../src/scheduler/nomad/translate.js';
import { GOLDEN_EXAMPLES } from '../../../fixtures/nomad/golden-specs.js';
import { REPO_ROOT } from '../../../helpers/spawn-ts.js';

const byName = (name: string): TranslateInput => GOLDEN_EXAMPLES.find((e) => e.name === name)!.input;
const task = (input: TranslateInput) => translateJob(input).TaskGroups[0]!.Tasks[0]!;
const group = (input: TranslateInput) => translateJob(input).TaskGroups[0]!;

/** Every number under a key that names a Nomad duration. */
function durations(value: unknown, key = ''): Array<[string, unknown]> {
  if (Array.isArray(value)) return value.flatMap((v) => durations(v, key));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => durations(v, k));
  return /Timeout$|Time$|Deadline$|Interval$|Delay$|^Stagger$/.test(key) ? [[key, value]] : [];
}

describe('translateJob golden files', () => {
  it.each(GOLDEN_EXAMPLES.map((e) => [e.name, e.input] as const))('renders %s exactly as jobspecs/examples/ holds it', (name, input) => {
    const golden = JSON.parse(readFileSync(path.join(REPO_ROOT, 'jobspecs/examples', `${name}.json`), 'utf8')) as unknown;
    expect({ Job: translateJob(input) }).toEqual(golden);
  });

  it.each(GOLDEN_EXAMPLES.map((e) => [e.name, e.input] as const))('writes every duration of %s as integer nanoseconds', (_name, input) => {
    const found = durations(translateJob(input));
    expect(found.length).toBeGreaterThan(5);
    for (const [key, value] of found) expect(Number.isInteger(value), key).toBe(true);
  });
});

describe('translateJob', () => {
  it('carries the deployment and revision in the job meta and a group with its count and scaling bounds', () => {
    const input = byName('volumes-secrets-autoscaling');
    const job = translateJob(input);
    expect(job.ID).toBe('gantry-video-queue');
    expect(job.Meta).toMatchObject({ gantry_deployment: input.spec.deploymentId, gantry_revision: input.spec.revisionId });
    expect(group(input)).toMatchObject({ Count: 2, Scaling: { Min: 0, Max: 8 } });
  });

  it('widens the scaling bounds so the count always lies inside them', () => {
    const input = byName('h100');
    const g = group({ ...input, spec: { ...input.spec, replicas: 5, minReplicas: 1, maxReplicas: 3 } });
    expect(g.Scaling).toMatchObject({ Min: 1, Max: 5 });
  });

  it.each([
    ['whole cores', 16, { Cores: 16 }],
    ['a fractional core as MHz', 0.5, { CPU: 500 }],
    ['a tenth of a core', 0.1, { CPU: 100 }],
    ['one and a half cores as MHz', 1.5, { CPU: 1500 }],
  ])('asks for %s', (_name, cpu, expected) => {
    const input = byName('cpu');
    const resources = task({ ...input, spec: { ...input.spec, cpu } }).Resources;
    expect(resources).toMatchObject(expected);
    expect('Cores' in resources && 'CPU' in resources).toBe(false);
  });

  it('maps command to the entrypoint and args to the arguments (compat.md §8.7)', () => {
    const config = task(byName('vllm-command')).Config;
    expect(config).toMatchObject({ image: 'vllm/vllm-openai:v0.17.1', entrypoint: ['vllm', 'serve'], args: ['Qwen/Qwen3-8B', '--port', '8000'] });
    expect(task(byName('h100')).Config).not.toHaveProperty('entrypoint');
  });

  it('sets the hostname to the allocation id, maps the port and exports PORT', () => {
    const t = task(byName('h100'));
    expect(t.Config).toMatchObject({ hostname: '${NOMAD_ALLOC_ID}', ports: ['http'] });
    expect(group(byName('h100')).Networks[0]!.DynamicPorts).toEqual([{ Label: 'http', To: 8000 }]);
    expect(t.Env.PORT).toBe('8000');
  });

  it('has an HTTP check on the health path, none when the path is empty, and never a check_restart', () => {
    expect(group(byName('h100')).Services[0]!.Checks).toEqual([expect.objectContaining({ Type: 'http', Path: '/health', PortLabel: 'http' })]);
    expect(group(byName('volumes-secrets-autoscaling')).Services[0]!.Checks).toEqual([]);
    for (const e of GOLDEN_EXAMPLES) expect(JSON.stringify(translateJob(e.input))).not.toMatch(/CheckRestart/);
  });

  it('registers the service with Nomad’s own discovery when the cluster has no Consul', () => {
    const input = byName('h100');
    expect(group(input).Services[0]!.Provider).toBe('consul');
    expect(group({ ...input, settings: { ...input.settings, serviceProvider: 'nomad' } }).Services[0]!.Provider).toBe('nomad');
  });

  it('judges rollouts by task state, reverts failed ones and kills with SIGTERM after the grace period', () => {
    const input = byName('h100');
    expect(group(input).Update).toMatchObject({ HealthCheck: 'task_states', AutoRevert: true, MaxParallel: 1 });
    expect(task(input)).toMatchObject({ KillSignal: 'SIGTERM', KillTimeout: 300_000_000_000 });
  });

  it('takes deadlines and the image pull timeout from the cluster settings', () => {
    const input = byName('h100');
    const settings = { ...input.settings, healthyDeadlineSeconds: 600, progressDeadlineSeconds: 100, imagePullTimeoutSeconds: 900 };
    const g = group({ ...input, settings });
    expect(g.Update).toMatchObject({ HealthyDeadline: 600e9, ProgressDeadline: 660e9 });
    expect(g.Tasks[0]!.Config.image_pull_timeout).toBe('900s');
  });

  it('takes datacenters, node pool, namespace and extra constraints from the cluster settings', () => {
    const input = byName('cpu');
    const constraint = { LTarget: '${node.class}', Operand: '=', RTarget: 'gpu' };
    const job = translateJob({ ...input, settings: { ...input.settings, datacenters: ['a', 'b'], nodePool: 'gpus', namespace: 'ml', constraints: [constraint] } });
    expect(job).toMatchObject({ Datacenters: ['a', 'b'], NodePool: 'gpus', Namespace: 'ml', Constraints: [constraint] });
    expect(translateJob(input)).not.toHaveProperty('NodePool');
  });

  it('renders secrets only through a Vault template into env, never as values', () => {
    const input = byName('volumes-secrets-autoscaling');
    const t = task(input);
    expect(t.Vault).toEqual({ Role: 'nomad-workloads', ChangeMode: 'noop' });
    expect(t.Templates).toEqual([expect.objectContaining({ Envvars: true, DestPath: 'secrets/gantry.env' })]);
    expect(t.Templates![0]!.EmbeddedTmpl).toContain('secret "secret/data/gantry/gantry-video-queue/env"');
    expect(JSON.stringify(translateJob(input))).not.toContain('hf_never_in_the_job');
    expect(t.Env).not.toHaveProperty('HF_TOKEN');
    expect(t.Env).not.toHaveProperty('TOGETHER_API_KEY');
  });

  it('preloads volume files as artifacts and bind-mounts them read-only at the mount path', () => {
    const t = task(byName('volumes-secrets-autoscaling'));
    expect(t.Artifacts!.map((a) => a.RelativeDest)).toEqual(['local/volumes/pantry/curry.txt', 'local/volumes/pantry/spices/cumin.txt']);
    expect(t.Artifacts![0]).toMatchObject({ GetterMode: 'file', GetterOptions: { archive: 'false' } });
    expect(t.Config.mount).toEqual([{ type: 'bind', source: 'local/volumes/pantry', target: '/pantry', readonly: true }]);
  });

  it('sizes the ephemeral disk from storage and memory in MiB', () => {
    const g = group(byName('b200'));
    expect(g.EphemeralDisk.SizeMB).toBe(400 * 1024);
    expect(g.Tasks[0]!.Resources.MemoryMB).toBe(256 * 1024);
  });
});

describe('GPU devices', () => {
  const type = (name: string) => BUILTIN_GPU_TYPES.find((t) => t.name === name)!;

  it.each([
    ['h100-80gb', 'H100', '80000 MiB', 81559],
    ['h100-40gb-mig', 'H100.* MIG 3g\\.40gb$', '40000 MiB', 40448],
    ['h200-140gb', 'H200', '140000 MiB', 143771],
    ['b200-192gb', 'B200', '180000 MiB', 183359],
  ])('%s asks for model %s with at least %s (what NVML reports, %d MiB, passes)', (name, model, memory, reported) => {
    expect(deviceConstraints(type(name))).toEqual([
      { LTarget: '${device.model}', Operand: 'regexp', RTarget: model },
      { LTarget: '${device.attr.memory}', Operand: '>=', RTarget: memory },
    ]);
    expect(reported).toBeGreaterThanOrEqual(Number.parseInt(memory, 10));
  });

  it('matches a MIG slice name and not the whole GPU', () => {
    const pattern = new RegExp(deviceConstraints(type('h100-40gb-mig'))[0]!.RTarget);
    expect(pattern.test('NVIDIA H100 80GB HBM3 MIG 3g.40gb')).toBe(true);
    expect(pattern.test('NVIDIA H100 80GB HBM3 MIG 3g.40gbx')).toBe(false);
    expect(pattern.test('NVIDIA H100 80GB HBM3')).toBe(false);
  });

  it.each([
    ['none', 0, 0],
    ['h100-80gb', 0, 0],
    ['h100-80gb', 2, 1],
  ])('gpu_type %s with count %d asks for %d device blocks', (name, count, blocks) => {
    const devices = gpuDevices(type(name), count);
    expect(devices).toHaveLength(blocks);
    if (blocks) expect(devices[0]).toMatchObject({ Name: 'nvidia/gpu', Count: count });
  });

  it('adds an operator type from configuration and lets it replace a built-in', () => {
    const a100 = gpuTypeFromOptions('a100-40gb', { model: 'A100', memory_mib: 39000 });
    const mig = gpuTypeFromOptions('a100-1g', { model: 'A100', mig_profile: '1g.5gb' });
    const catalog = new GpuCatalog(BUILTIN_GPU_TYPES, [a100, mig, gpuTypeFromOptions('h100-80gb', { model: 'H100 80GB' })]);
    expect(catalog.names()).toEqual(expect.arrayContaining(['none', 'a100-40gb', 'a100-1g', 'b200-192gb']));
    expect(deviceConstraints(catalog.get('a100-1g')!)).toEqual([{ LTarget: '${device.model}', Operand: 'regexp', RTarget: 'A100.* MIG 1g\\.5gb$' }]);
    expect(catalog.get('h100-80gb')!.model).toBe('H100 80GB');
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GpuCatalog } from '../../../../src/deployments/gpu-catalog.js';
import { renderProject, RenderError } from '../../../../src/scheduler/nomad/render-project.js';
import { DEFAULT_CLUSTER_SETTINGS } from '../../../../src/scheduler/nomad/settings.js';

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-render-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const options = { settings: { ...DEFAULT_CLUSTER_SETTINGS, namespace: 'ml' }, gpus: new GpuCatalog(), publicUrl: 'https://gantry.example.com', registry: 'registry.example.com/team' };

describe('renderProject', () => {
  it('renders [tool.jig.deploy] of a pyproject as the Nomad job a deploy would register', () => {
    const dir = project({
      'pyproject.toml': [
        '[project]', 'name = "video"', '',
        '[tool.jig.deploy]', 'gpu_type = "h100-80gb"', 'gpu_count = 2', 'cpu = 8', 'memory = 64', 'min_replicas = 0', 'max_replicas = 4',
        'command = ["torchrun", "app.py"]', '',
        '[tool.jig.deploy.environment_variables]', 'MODE = "fast"', '',
        '[[tool.jig.deploy.volume_mounts]]', 'name = "weights"', 'mount_path = "/weights"',
      ].join('\n'),
    });
    const job = renderProject(dir, options);
    const task = job.TaskGroups[0]!.Tasks[0]!;
    expect(job).toMatchObject({ ID: 'gantry-video', Namespace: 'ml' });
    expect(job.TaskGroups[0]).toMatchObject({ Count: 0, Scaling: { Min: 0, Max: 4 } });
    expect(task.Config).toMatchObject({ image: 'registry.example.com/team/video:latest', entrypoint: ['torchrun', 'app.py'] });
    expect(task.Env).toMatchObject({ MODE: 'fast', WORLD_SIZE: '2', TOGETHER_API_BASE_URL: 'https://gantry.example.com' });
    expect(task.Resources).toMatchObject({ Cores: 8, MemoryMB: 65536, Devices: [{ Name: 'nvidia/gpu', Count: 2 }] });
    expect(task.Config.mount).toEqual([{ type: 'bind', source: 'local/volumes/weights', target: '/weights', readonly: true }]);
    expect(task.Templates![0]!.EmbeddedTmpl).toContain('secret/data/ml/gantry-video/env');
  });

  it('uses jig.toml first and its image when given', () => {
    const dir = project({ 'jig.toml': 'name = "vllm"\n[deploy]\nimage = "vllm/vllm-openai:v0.17.1"\ngpu_type = "none"\ngpu_count = 0\n' });
    const job = renderProject(dir, options);
    expect(job.ID).toBe('gantry-vllm');
    expect(job.TaskGroups[0]!.Tasks[0]!.Config.image).toBe('vllm/vllm-openai:v0.17.1');
    expect(job.TaskGroups[0]!.Tasks[0]!.Resources.Devices).toBeUndefined();
  });

  it.each([
    ['a value of the wrong type, naming the file and key', 'name = "x"\n[deploy]\ncpu = "lots"\n', /jig\.toml: \[tool\.jig\.deploy\]\.cpu/],
    ['an unknown gpu_type, listing the known ones', 'name = "x"\n[deploy]\ngpu_type = "tpu"\n', /unknown GPU type "tpu"; known types: none, h100-80gb/],
    ['a TOML syntax error with its line', 'name = \n', /jig\.toml:1:/],
  ])('refuses %s', (_name, text, message) => {
    expect(() => renderProject(project({ 'jig.toml': text }), options)).toThrow(message);
  });

  it('refuses a directory without a Jig config', () => {
    expect(() => renderProject(project({}), options)).toThrow(RenderError);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JigError } from '../../../cli/src/errors.js';
import { findConfigFile, loadConfig, parseConfig } from '../../../cli/src/project/load-config.js';

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jig-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

function parse(text: string, file = '/p/my-dir/pyproject.toml'): { config: ReturnType<typeof parseConfig>; warnings: string[] } {
  const warnings: string[] = [];
  return { config: parseConfig(file, text, (w) => warnings.push(w), '/p/my-dir'), warnings };
}

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(JigError);
    return (err as Error).message;
  }
  throw new Error('expected a JigError');
}

describe('findConfigFile', () => {
  it('prefers jig.toml over pyproject.toml when both exist', () => {
    const dir = project({ 'jig.toml': 'name = "a"', 'pyproject.toml': '[tool.jig]\nname = "b"' });
    expect(path.basename(findConfigFile(dir, undefined))).toBe('jig.toml');
  });

  it('takes pyproject.toml only when it has a [tool.jig] table ([tool.jig.deploy] alone counts)', () => {
    expect(path.basename(findConfigFile(project({ 'pyproject.toml': '[tool.jig.deploy]\ncpu = 2' }), undefined))).toBe('pyproject.toml');
    expect(failure(() => findConfigFile(project({ 'pyproject.toml': '[project]\nname = "x"' }), undefined))).toBe(
      'No pyproject.toml or jig.toml found, use --config to specify a config path',
    );
  });

  it('fails naming an explicit path that does not exist', () => {
    expect(failure(() => findConfigFile(project({}), 'staging_jig.toml'))).toBe('Configuration file not found: staging_jig.toml');
  });
});

describe('parseConfig', () => {
  it('applies the original defaults', () => {
    const { config } = parse('[tool.jig]\nname = "m"');
    expect(config.image).toEqual({
      python_version: '3.11', system_packages: [], environment: {}, run: [], cmd: 'python app.py', copy: [],
      auto_include_git: false, dockerfile_path: 'Dockerfile',
    });
    expect(config.deploy).toMatchObject({ gpu_type: 'h100-80gb', gpu_count: 1, cpu: 1, memory: 8, storage: 100, port: 8000,
      min_replicas: 1, max_replicas: 1, health_check_path: '/health', termination_grace_period_seconds: 300, autoscaling: {} });
  });

  it('resolves the name from tool.jig.name, then project.name, then the directory with a warning', () => {
    expect(parse('[project]\nname = "p"\n[tool.jig]\nname = "j"').config.name).toBe('j');
    expect(parse('[project]\nname = "p"\n[tool.jig.deploy]').config.name).toBe('p');
    const fallback = parse('[tool.jig.deploy]\ncpu = 1');
    expect(fallback.config.name).toBe('my-dir');
    expect(fallback.warnings).toEqual(['\u26a0 Name not set in pyproject.toml - defaulting to my-dir']);
  });

  it('reads a jig.toml body at top level', () => {
    const { config } = parse('name = "top"\n[deploy]\ngpu_count = 2', '/p/my-dir/jig.toml');
    expect(config).toMatchObject({ name: 'top', deploy: { gpu_count: 2 } });
  });

  it('folds the deprecated top-level tables into deploy, replacing them, with a warning each', () => {
    const { config, warnings } = parse(
      '[tool.jig]\nname = "m"\n[tool.jig.deploy.autoscaling]\nmetric = "CustomMetric"\n[tool.jig.autoscaling]\nmetric = "QueueBacklogPerWorker"\ntarget = 2\n[[tool.jig.volume_mounts]]\nname = "v"\nmount_path = "/v"',
    );
    expect(config.deploy.autoscaling).toEqual({ metric: 'QueueBacklogPerWorker', target: 2, model: 'm' });
    expect(config.deploy.volume_mounts).toEqual([{ name: 'v', mount_path: '/v', version: 0 }]);
    expect(warnings).toEqual([
      '\u26a0 [tool.jig.volume_mounts] is deprecated, use [tool.jig.deploy.volume_mounts] instead',
      '\u26a0 [tool.jig.autoscaling] is deprecated, use [tool.jig.deploy.autoscaling] instead',
    ]);
  });

  it('maps the old profile/targetValue autoscaling form to metric/target', () => {
    const { config, warnings } = parse('[tool.jig]\nname = "m"\n[tool.jig.autoscaling]\nprofile = "QueueBacklogPerWorker"\ntargetValue = "1.05"');
    expect(config.deploy.autoscaling).toEqual({ metric: 'QueueBacklogPerWorker', target: 1.05, model: 'm' });
    expect(warnings).toHaveLength(2);
  });

  it('warns about an unknown key with its path and line, and goes on', () => {
    const { config, warnings } = parse('[tool.jig]\nname = "m"\n\n[tool.jig.deploy]\nmin_replica = 0\ncpu = 2');
    expect(config.deploy.cpu).toBe(2);
    expect(warnings).toEqual(['\u26a0 Unknown key tool.jig.deploy.min_replica in pyproject.toml:5 (ignored)']);
  });

  it('names the file, line and key path of a wrong type', () => {
    const message = failure(() => parse('[tool.jig]\nname = "m"\n[tool.jig.deploy]\ngpu_count = "1"'));
    expect(message).toBe('Invalid pyproject.toml:4: tool.jig.deploy.gpu_count: expected int, got "1"');
  });

  it('reports every wrong value, not only the first', () => {
    const message = failure(() => parse('[tool.jig.image]\nenvironment = { PORT = 8000 }\ncopy = "app.py"'));
    expect(message).toContain('tool.jig.image.environment.PORT: expected str, got 8000');
    expect(message).toContain('pyproject.toml:3: tool.jig.image.copy: expected list, got "app.py"');
  });

  it('names the file, line and column of malformed TOML', () => {
    expect(failure(() => parse('[tool.jig]\nname = "m\n'))).toMatch(/^Invalid pyproject\.toml:2:\d+: /);
  });

  it('fails a volume mount without mount_path clearly', () => {
    expect(failure(() => parse('[[tool.jig.deploy.volume_mounts]]\nname = "v"'))).toContain('tool.jig.deploy.volume_mounts[0].mount_path: required key is missing');
  });

  it('loads from a directory', () => {
    const dir = project({ 'pyproject.toml': '[project]\nname = "x"\n[tool.jig.image]\ncmd = "python3 a.py"' });
    expect(loadConfig(dir, undefined, () => undefined).image.cmd).toBe('python3 a.py');
  });
});

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { CreateDeploymentBody } from '../../api/schemas/deployments.js';
import { canonicalizeCreate } from '../../deployments/canonicalize.js';
import type { GpuCatalog } from '../../deployments/gpu-catalog.js';
import { jobIdOf } from '../../deployments/names.js';
import { toJobSpec } from '../../deployments/to-job-spec.js';
import type { DeploymentRecord } from '../../deployments/types.js';
import type { Job } from '../../clients/nomad/types.js';
import type { ClusterSettings } from './settings.js';
import { translateJob } from './translate.js';

type Table = Record<string, unknown>;

/** A project that cannot be rendered: what is wrong and where (file, key). */
export class RenderError extends Error {
  override readonly name = 'RenderError';
}

const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The project's Jig config, found as the CLI finds it (compat.md §1.1): jig.toml, else pyproject.toml [tool.jig]. */
function readJig(dir: string): { file: string; jig: Table; projectName: string | undefined } {
  for (const name of ['jig.toml', 'pyproject.toml']) {
    const file = path.join(dir, name);
    if (!existsSync(file)) continue;
    let table: Table;
    try {
      table = parseToml(readFileSync(file, 'utf8'));
    } catch (err) {
      const where = err instanceof TomlError ? `:${err.line}:${err.column}` : '';
      throw new RenderError(`${file}${where}: ${(err as Error).message.split('\n')[0]}`);
    }
    const jig = name === 'jig.toml' ? table : isTable(table.tool) ? table.tool.jig : undefined;
    const project = isTable(table.project) && typeof table.project.name === 'string' ? table.project.name : undefined;
    if (isTable(jig)) return { file, jig, projectName: project };
  }
  throw new RenderError(`${dir}: no jig.toml, and no pyproject.toml with a [tool.jig] table`);
}

/** `[tool.jig.deploy]` as the create request the Jig CLI would send (compat.md §2.3 defaults). */
function requestOf(jig: Table, name: string, registry: string | undefined): Table {
  const deploy = isTable(jig.deploy) ? jig.deploy : {};
  const env = isTable(deploy.environment_variables) ? deploy.environment_variables : {};
  const mounts = Array.isArray(deploy.volume_mounts) ? (deploy.volume_mounts as Table[]) : [];
  const autoscaling = isTable(deploy.autoscaling) && Object.keys(deploy.autoscaling).length > 0 ? { ...deploy.autoscaling, model: name } : {};
  const image = typeof deploy.image === 'string' ? deploy.image : `${registry ? `${registry}/` : ''}${name}:latest`;
  const { environment_variables: _e, volume_mounts: _v, autoscaling: _a, image: _i, ...plain } = deploy;
  return {
    gpu_type: 'h100-80gb', gpu_count: 1, cpu: 1, memory: 8, storage: 100, min_replicas: 1, max_replicas: 1,
    ...plain, name, image,
    environment_variables: Object.entries(env).map(([k, v]) => ({ name: k, value: String(v) })),
    volumes: mounts.map((m) => ({ name: m.name, mount_path: m.mount_path, version: m.version ?? 0 })),
    autoscaling,
  };
}

export interface RenderOptions {
  settings: ClusterSettings;
  gpus: GpuCatalog;
  /** TOGETHER_API_BASE_URL the workers would get. */
  publicUrl: string;
  registry: string | undefined;
}

/**
 * The Nomad job a project directory would become on `jig deploy` (`gantry render <dir>`). Placeholders
 * stand for what only a deploy knows: the deployment id, the revision, volume file URLs (none listed) and
 * secret values (never rendered: they reach the job through its Vault template).
 */
export function renderProject(dir: string, o: RenderOptions): Job {
  const { file, jig, projectName } = readJig(dir);
  const name = typeof jig.name === 'string' ? jig.name : (projectName ?? path.basename(path.resolve(dir)));
  const parsed = CreateDeploymentBody.safeParse(requestOf(jig, name, o.registry));
  if (!parsed.success) {
    throw new RenderError(parsed.error.issues.map((i) => `${file}: [tool.jig.deploy].${i.path.join('.')}: ${i.message}`).join('\n'));
  }
  const gpu = o.gpus.get(parsed.data.gpu_type);
  if (!gpu) throw new RenderError(`${file}: [tool.jig.deploy].gpu_type: unknown GPU type "${parsed.data.gpu_type}"; known types: ${o.gpus.names().join(', ')}`);
  const open = canonicalizeCreate(parsed.data);
  const jobId = jobIdOf(name);
  const record: DeploymentRecord = {
    ...open,
    volumes: open.volumes.map((v) => ({ ...v, version: v.version ?? 0 })),
    id: 'dep_rendered', name, job_id: jobId, revision_id: 'rendered', revision_fingerprint: '', desired_replicas: open.min_replicas,
    created_at: '', updated_at: '', previous_names: [], warnings: [],
  };
  const volumes = record.volumes.map((v) => ({ name: v.name, mountPath: v.mount_path, version: v.version, hostPath: '' }));
  const spec = toJobSpec(record, { apiBaseUrl: o.publicUrl, secretEnv: {}, volumes, source: undefined });
  const secretsPath = `secret/data/${o.settings.namespace}/${jobId}/env`;
  return translateJob({ spec, gpu, settings: o.settings, secretsPath, volumes: volumes.map((v) => ({ ...v, files: [] })) });
}

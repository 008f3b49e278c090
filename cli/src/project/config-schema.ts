import { z } from 'zod';

/**
 * The `[tool.jig]` schema (compat.md §2, compat-source.md §B.3): field names, types and defaults exactly as
 * the original CLI's dataclasses have them. Unknown keys are not an error (projects that deploy on the
 * original must deploy here); `unknownKeys()` finds them so the loader can warn.
 */

/** Each type names itself in its error, as the original's `expected <type>, got <value>`. */
const expected = (kind: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? 'required key is missing' : `expected ${kind}`) });
const str = () => z.string(expected('str'));
const int = () => z.int(expected('int'));
const num = () => z.number(expected('int or float'));
const strList = z.array(str(), expected('list'));
const strTable = z.record(z.string(), str(), expected('table'));

export const imageSchema = z.object({
  python_version: str().default('3.11'),
  system_packages: strList.default([]),
  environment: strTable.default({}),
  run: strList.default([]),
  cmd: str().default('python app.py'),
  copy: strList.default([]),
  auto_include_git: z.boolean(expected('bool')).default(false),
  dockerfile_path: str().default('Dockerfile'),
});

export const volumeMountSchema = z.object({
  name: str(),
  mount_path: str(),
  /** Literal volume version; 0 is the version `volumes create` uploads (compat.md §8.13) (default: 0). */
  version: int().default(0),
});

export const deploySchema = z.object({
  description: str().default(''),
  gpu_type: str().default('h100-80gb'),
  gpu_count: int().default(1),
  cpu: num().default(1),
  memory: num().default(8),
  storage: int().default(100),
  min_replicas: int().default(1),
  max_replicas: int().default(1),
  port: int().default(8000),
  environment_variables: strTable.default({}),
  command: strList.default([]),
  autoscaling: z.record(z.string(), z.union([z.string(), z.number()], expected('str, int or float')), expected('table')).default({}),
  health_check_path: str().default('/health'),
  termination_grace_period_seconds: int().default(300),
  volume_mounts: z.array(volumeMountSchema, expected('list')).default([]),
  image: str().optional(),
});

export const jigTableSchema = z.object({
  name: str().optional(),
  image: imageSchema.default(imageSchema.parse({})),
  deploy: deploySchema.default(deploySchema.parse({})),
});

export type ImageConfig = z.infer<typeof imageSchema>;
export type DeployConfig = z.infer<typeof deploySchema>;
export type VolumeMount = z.infer<typeof volumeMountSchema>;

/** Keys the original knows in `[tool.jig.deploy.autoscaling]` (compat.md §6), old profile form included. */
const AUTOSCALING_KEYS = ['metric', 'target', 'model', 'custom_metric_name', 'time_interval_minutes', 'profile', 'targetValue'];
const TOP_KEYS = ['name', 'image', 'deploy', 'volume_mounts', 'autoscaling'];

/** Dotted paths (relative to the jig table) of every key the schema does not know. */
export function unknownKeys(jig: Record<string, unknown>): string[][] {
  const found: string[][] = [];
  collect(jig, TOP_KEYS, [], found);
  collect(jig.image, Object.keys(imageSchema.shape), ['image'], found);
  collect(jig.deploy, Object.keys(deploySchema.shape), ['deploy'], found);
  const deploy = asTable(jig.deploy);
  collect(deploy?.autoscaling, AUTOSCALING_KEYS, ['deploy', 'autoscaling'], found);
  const mounts = deploy?.volume_mounts;
  if (Array.isArray(mounts)) {
    mounts.forEach((m, i) => collect(m, Object.keys(volumeMountSchema.shape), ['deploy', 'volume_mounts', String(i)], found));
  }
  return found;
}

function collect(node: unknown, known: string[], at: string[], found: string[][]): void {
  const table = asTable(node);
  if (!table) return;
  for (const key of Object.keys(table)) if (!known.includes(key)) found.push([...at, key]);
}

export function asTable(node: unknown): Record<string, unknown> | undefined {
  return typeof node === 'object' && node !== null && !Array.isArray(node) && !(node instanceof Date)
    ? (node as Record<string, unknown>)
    : undefined;
}

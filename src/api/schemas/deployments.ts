import { z } from 'zod';
import { NAME_PATTERN, RESERVED_NAMES } from '../../deployments/names.js';
import { splitCommand } from '../../deployments/local-source.js';

/**
 * Wire schemas of the Deployments API (compat.md §5.1, §2.3 limits, §6 autoscaling). Unknown keys are
 * dropped, since vendor clients may send fields Gantry does not know; known keys are strictly typed.
 * `null` on an optional field means "not given" (the Python SDK sends null for None).
 */

const name = z
  .string()
  .regex(NAME_PATTERN, { error: 'must be 1–100 characters of letters, digits, "_" and "-"' })
  .refine((n) => !RESERVED_NAMES.has(n), { error: '"secrets" and "storage" are reserved names' });

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must match [A-Za-z_][A-Za-z0-9_]*' });

const environmentVariable = z
  .object({
    name: envName,
    value: z.string().nullish(),
    value_from_secret: z.string().min(1).nullish(),
  })
  .refine((v) => (v.value != null) !== (v.value_from_secret != null), {
    error: 'exactly one of "value" and "value_from_secret" must be set',
  });

const volumeMount = z.object({
  name: z.string().min(1),
  mount_path: z
    .string()
    .regex(/^\/[^\0]*$/, { error: 'must be an absolute path' })
    .refine((p) => p !== '/' && !p.split('/').includes('..'), { error: 'must not be "/" or contain ".."' }),
  version: z.number().int().min(0).nullish(),
});

const positive = z.number().positive();

/** The three autoscaling forms (compat.md §6), plus the old `profile`/`targetValue` form (§2.3). */
const autoscaling = z
  .object({
    metric: z.enum(['QueueBacklogPerWorker', 'CustomMetric', 'HTTPTotalRequests', 'HTTPAvgRequestDuration']).optional(),
    target: z.union([positive, z.string().regex(/^\d+(\.\d+)?$/).transform(Number)]).optional(),
    model: z.string().min(1).nullish(),
    custom_metric_name: z
      .string()
      .regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, { error: 'must match [a-zA-Z_:][a-zA-Z0-9_:]*' })
      .nullish(),
    time_interval_minutes: z.number().int().min(1).max(60).nullish(),
    profile: z.string().optional(),
    targetValue: z.union([positive, z.string()]).optional(),
  })
  .nullish();

const source = z.object({
  path: z.string().regex(/^\//, { error: 'must be an absolute path on the server machine' }),
  cmd: z
    .string()
    .min(1)
    .refine(splits, { error: 'must split into arguments as a shell would: a quote or a trailing "\\" is unbalanced' })
    .nullish(),
  config: z.string().min(1).nullish(),
});

function splits(cmd: string): boolean {
  try {
    splitCommand(cmd, 'x_gantry_source.cmd');
    return true;
  } catch {
    return false;
  }
}

const image = z.string().min(1);
const gpuType = z.string().min(1);

/** Every field besides name, image and gpu_type: optional in both create and update. */
const optionalFields = {
  description: z.string().max(1000).nullish(),
  gpu_count: z.number().int().min(0).max(64).nullish(),
  cpu: z.number().min(0.1, { error: 'must be at least 0.1' }).max(512).nullish(),
  memory: z.number().positive().max(1000, { error: 'must be at most 1000 (GiB)' }).nullish(),
  storage: z.number().min(0).max(400, { error: 'must be at most 400 (GiB)' }).nullish(),
  min_replicas: z.number().int().min(0, { error: 'must not be negative' }).max(1000).nullish(),
  max_replicas: z.number().int().min(0, { error: 'must not be negative' }).max(1000).nullish(),
  port: z.number().int().min(1).max(65535).nullish(),
  health_check_path: z
    .string()
    .refine((p) => p === '' || p.startsWith('/'), { error: 'must start with "/" (or be "" to disable)' })
    .nullish(),
  termination_grace_period_seconds: z.number().int().min(0).max(86_400).nullish(),
  command: z.array(z.string()).nullish(),
  args: z.array(z.string()).nullish(),
  environment_variables: z.array(environmentVariable).nullish(),
  volumes: z.array(volumeMount).nullish(),
  autoscaling,
  /** Gantry extension: a project directory on the server's own machine, for the embedded default. */
  x_gantry_source: source.nullish(),
};

export const CreateDeploymentBody = z
  .object({ name, image, gpu_type: gpuType, ...optionalFields })
  .refine((b) => b.max_replicas == null || b.max_replicas >= (b.min_replicas ?? 1), {
    error: 'must be at least min_replicas',
    path: ['max_replicas'],
  });

/** A PATCH: every field optional, name, image and gpu_type included. */
export const UpdateDeploymentBody = z.object({
  name: name.nullish(),
  image: image.nullish(),
  gpu_type: gpuType.nullish(),
  ...optionalFields,
});

export type CreateDeploymentInput = z.output<typeof CreateDeploymentBody>;
export type UpdateDeploymentInput = z.output<typeof UpdateDeploymentBody>;
export type AutoscalingInput = z.output<typeof autoscaling>;

export const LogsQuery = z.object({
  replica_id: z.string().min(1).optional(),
  revision: z.string().min(1).optional(),
  version: z.string().min(1).optional(),
  follow: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
});

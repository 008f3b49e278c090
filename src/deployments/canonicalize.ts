import type { AutoscalingInput, CreateDeploymentInput, UpdateDeploymentInput } from '../api/schemas/deployments.js';
import { appError } from '../shared/errors.js';
import type { Autoscaling, DeploymentSpec, SourceRef, VolumeMount } from './types.js';

/**
 * Defaults of a created deployment. The API leaves most of them unsaid; these are the values the Jig CLI
 * sends when its config is silent (compat.md §2.3), except `gpu_count`, whose API default is 0.
 */
export const DEPLOYMENT_DEFAULTS = {
  description: '',
  gpu_count: 0,
  cpu: 1,
  memory: 8,
  storage: 100,
  min_replicas: 1,
  port: 8000,
  health_check_path: '/health',
  termination_grace_period_seconds: 300,
} as const;

/** Autoscaling targets when none is given (compat.md §6). */
const DEFAULT_TARGETS = {
  QueueBacklogPerWorker: 1.01,
  CustomMetric: 500,
  HTTPTotalRequests: 100,
  HTTPAvgRequestDuration: 500,
} as const;

type Mounts = Array<Omit<VolumeMount, 'version'> & { version: number | undefined }>;

/** The spec of a new deployment, every default filled. Volume versions stay open until resolved. */
export function canonicalizeCreate(input: CreateDeploymentInput): Omit<DeploymentSpec, 'volumes'> & { volumes: Mounts } {
  const d = DEPLOYMENT_DEFAULTS;
  const min = input.min_replicas ?? d.min_replicas;
  return {
    description: input.description ?? d.description,
    image: input.image,
    gpu_type: input.gpu_type,
    gpu_count: input.gpu_count ?? d.gpu_count,
    cpu: input.cpu ?? d.cpu,
    memory: input.memory ?? d.memory,
    storage: input.storage ?? d.storage,
    min_replicas: min,
    max_replicas: input.max_replicas ?? min,
    port: input.port ?? d.port,
    health_check_path: input.health_check_path ?? d.health_check_path,
    termination_grace_period_seconds: input.termination_grace_period_seconds ?? d.termination_grace_period_seconds,
    command: input.command ?? [],
    args: input.args ?? [],
    environment_variables: canonicalEnv(input.environment_variables ?? []),
    volumes: canonicalMounts(input.volumes ?? []),
    autoscaling: canonicalizeAutoscaling(input.autoscaling, input.name),
    x_gantry_source: canonicalSource(input.x_gantry_source),
  };
}

/** A PATCH applied to the current spec: sent fields replace, absent ones keep (lists replace whole). */
export function canonicalizeUpdate(
  current: DeploymentSpec,
  input: UpdateDeploymentInput,
  name: string,
): Omit<DeploymentSpec, 'volumes'> & { volumes: Mounts } {
  const pick = <K extends keyof DeploymentSpec>(key: K, sent: DeploymentSpec[K] | null | undefined) => sent ?? current[key];
  const next = {
    ...current,
    description: pick('description', input.description),
    image: pick('image', input.image),
    gpu_type: pick('gpu_type', input.gpu_type),
    gpu_count: pick('gpu_count', input.gpu_count),
    cpu: pick('cpu', input.cpu),
    memory: pick('memory', input.memory),
    storage: pick('storage', input.storage),
    min_replicas: pick('min_replicas', input.min_replicas),
    max_replicas: pick('max_replicas', input.max_replicas),
    port: pick('port', input.port),
    health_check_path: pick('health_check_path', input.health_check_path),
    termination_grace_period_seconds: pick('termination_grace_period_seconds', input.termination_grace_period_seconds),
    command: pick('command', input.command),
    args: pick('args', input.args),
    environment_variables: input.environment_variables ? canonicalEnv(input.environment_variables) : current.environment_variables,
    autoscaling: input.autoscaling === undefined ? current.autoscaling : canonicalizeAutoscaling(input.autoscaling, name),
    x_gantry_source: input.x_gantry_source ? canonicalSource(input.x_gantry_source) : current.x_gantry_source,
  };
  return { ...next, volumes: input.volumes ? canonicalMounts(input.volumes) : current.volumes };
}

/** `{}` and null mean off (compat.md §8.25); the old `profile`/`targetValue` form maps onto `metric`/`target`. */
export function canonicalizeAutoscaling(input: AutoscalingInput, deploymentName: string): Autoscaling | null {
  if (input == null) return null;
  const metric = input.metric ?? (input.profile as Autoscaling['metric'] | undefined);
  const target = input.target ?? toNumber(input.targetValue);
  if (metric === undefined) {
    if (Object.values(input).every((v) => v == null)) return null;
    throw appError('GANTRY_ERR_REQUEST_INVALID', 'autoscaling.metric: required when autoscaling is set', { param: 'autoscaling.metric' });
  }
  return autoscalingOf(metric, target ?? DEFAULT_TARGETS[metric], input, deploymentName);
}

function autoscalingOf(metric: string, target: number, input: NonNullable<AutoscalingInput>, name: string): Autoscaling {
  switch (metric) {
    case 'QueueBacklogPerWorker':
      return { metric, target, model: input.model ?? name };
    case 'CustomMetric':
      if (!input.custom_metric_name) {
        throw appError('GANTRY_ERR_REQUEST_INVALID', 'autoscaling.custom_metric_name: required for CustomMetric', {
          param: 'autoscaling.custom_metric_name',
        });
      }
      return { metric, target, custom_metric_name: input.custom_metric_name };
    case 'HTTPTotalRequests':
    case 'HTTPAvgRequestDuration':
      return { metric, target, time_interval_minutes: input.time_interval_minutes ?? 10 };
    default:
      throw appError('GANTRY_ERR_REQUEST_INVALID', `autoscaling.metric: unknown autoscaling metric "${metric}"`, {
        param: 'autoscaling.metric',
      });
  }
}

function toNumber(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw appError('GANTRY_ERR_REQUEST_INVALID', 'autoscaling.targetValue: must be a positive number', { param: 'autoscaling.targetValue' });
  }
  return n;
}

function canonicalEnv(vars: NonNullable<CreateDeploymentInput['environment_variables']>): DeploymentSpec['environment_variables'] {
  return vars.map((v) => (v.value_from_secret != null ? { name: v.name, value_from_secret: v.value_from_secret } : { name: v.name, value: v.value! }));
}

function canonicalMounts(mounts: NonNullable<CreateDeploymentInput['volumes']>): Mounts {
  return mounts.map((m) => ({ name: m.name, mount_path: m.mount_path.replace(/\/+$/, ''), version: m.version ?? undefined }));
}

function canonicalSource(source: CreateDeploymentInput['x_gantry_source']): SourceRef | null {
  if (!source) return null;
  return { path: source.path, ...(source.cmd ? { cmd: source.cmd } : {}), ...(source.config ? { config: source.config } : {}) };
}

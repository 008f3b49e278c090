import type { Job, ScalingPolicy, Service, TaskGroup, UpdateStrategy } from '../../clients/nomad/types.js';
import type { GpuType } from '../../deployments/gpu-catalog.js';
import { jobIdOf } from '../../deployments/names.js';
import type { JobSpec } from '../scheduler.js';
import { GROUP_NAME, PORT_LABEL, seconds, type ClusterSettings } from './settings.js';
import { workerTask, type VolumeArtifacts } from './task.js';

/** Everything a deployment's Nomad job is made of. */
export interface TranslateInput {
  spec: JobSpec;
  /** The catalog entry of `spec.gpuType`. */
  gpu: GpuType;
  settings: ClusterSettings;
  /** The KV v2 path of the job's secret environment (`WorkloadSecrets.templatePath`). */
  secretsPath: string;
  /** The spec's volumes with the signed URLs of their files, in the order of `spec.volumes`. */
  volumes: VolumeArtifacts[];
}

/** Job meta keys: which deployment and revision a job (and so each allocation's job version) runs. */
export const META_DEPLOYMENT = 'gantry_deployment';
export const META_DEPLOYMENT_NAME = 'gantry_deployment_name';
export const META_REVISION = 'gantry_revision';

/** The Nomad job id of a spec: fixed at create (§8.24), derived from the name when the spec has none. */
export function jobIdOfSpec(spec: JobSpec): string {
  return spec.jobId ?? jobIdOf(spec.deploymentName);
}

/**
 * A deployment at one revision as Nomad job JSON (the `Job` of a register request). Pure: no I/O, no clock,
 * no environment; golden files in `jobspecs/examples/` pin its output.
 */
export function translateJob(input: TranslateInput): Job {
  const { spec, settings } = input;
  const id = jobIdOfSpec(spec);
  return {
    ID: id,
    Name: id,
    Namespace: settings.namespace,
    Region: settings.region,
    Type: 'service',
    Priority: 50,
    Datacenters: settings.datacenters,
    ...(settings.nodePool ? { NodePool: settings.nodePool } : {}),
    Constraints: settings.constraints,
    Meta: { [META_DEPLOYMENT]: spec.deploymentId, [META_DEPLOYMENT_NAME]: spec.deploymentName, [META_REVISION]: spec.revisionId },
    TaskGroups: [workerGroup(id, input)],
  };
}

function workerGroup(jobId: string, input: TranslateInput): TaskGroup {
  const { spec, settings } = input;
  return {
    Name: GROUP_NAME,
    Count: spec.replicas,
    Scaling: scaling(spec),
    Networks: [{ Mode: 'host', DynamicPorts: [{ Label: PORT_LABEL, To: spec.port }] }],
    Services: [service(jobId, spec, settings.serviceProvider)],
    Update: update(settings),
    // CrashLoopBackOff is "restarted 3 times within 10 minutes" (compat.md §8.15); then the allocation fails
    // and is rescheduled, with a growing delay, on any node.
    RestartPolicy: { Attempts: 3, Interval: seconds(600), Delay: seconds(15), Mode: 'fail' },
    ReschedulePolicy: {
      Attempts: 0,
      Interval: 0,
      Delay: seconds(30),
      DelayFunction: 'exponential',
      MaxDelay: seconds(3600),
      Unlimited: true,
    },
    EphemeralDisk: { SizeMB: Math.round(spec.storageGiB * 1024), Sticky: false, Migrate: false },
    Tasks: [workerTask(input)],
  };
}

/**
 * Gantry's own autoscaler sets the count (through `/scale`); the block only records the bounds, which Nomad
 * enforces on every scale. `Enabled: false` keeps a Nomad Autoscaler, if the cluster runs one, away from it.
 */
function scaling(spec: JobSpec): ScalingPolicy {
  const min = Math.min(spec.minReplicas ?? 0, spec.replicas);
  const max = Math.max(spec.maxReplicas ?? spec.replicas, spec.replicas, min);
  return { Enabled: false, Min: min, Max: max, Type: 'horizontal', Policy: {} };
}

/**
 * The Consul service workers are found by (direct HTTP, metric scrapes). No `check_restart`: a synchronous
 * worker cannot answer its check while a job runs, and that is busy, not dead (compat.md §8.28).
 */
function service(jobId: string, spec: JobSpec, provider: Service['Provider']): Service {
  const checks = spec.healthCheckPath
    ? [{ Name: 'health', Type: 'http' as const, Path: spec.healthCheckPath, PortLabel: PORT_LABEL, Interval: seconds(10), Timeout: seconds(5) }]
    : [];
  return {
    Name: jobId,
    Provider: provider,
    PortLabel: PORT_LABEL,
    Tags: ['gantry', `revision-${spec.revisionId}`],
    Meta: { [META_DEPLOYMENT]: spec.deploymentId, [META_REVISION]: spec.revisionId, alloc_id: '${NOMAD_ALLOC_ID}' },
    Checks: checks,
  };
}

/**
 * Rolling, one at a time, judged by task state rather than checks (compat.md §8.32), with deadlines long
 * enough for large images and model loads, and a failed rollout reverted to the last stable version.
 */
function update(settings: ClusterSettings): UpdateStrategy {
  return {
    MaxParallel: 1,
    HealthCheck: 'task_states',
    MinHealthyTime: seconds(settings.minHealthyTimeSeconds),
    HealthyDeadline: seconds(settings.healthyDeadlineSeconds),
    ProgressDeadline: seconds(Math.max(settings.progressDeadlineSeconds, settings.healthyDeadlineSeconds + 60)),
    AutoRevert: true,
    AutoPromote: false,
    Canary: 0,
    Stagger: seconds(30),
  };
}

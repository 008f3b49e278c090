import type { JobSpec, LocalSource, VolumeMountSpec } from '../scheduler/scheduler.js';
import { plainEnvironment, platformEnvironment } from './environment.js';
import type { DeploymentRecord } from './types.js';

/** What `toJobSpec` needs beyond the record, resolved by the service (secrets, volumes, source). */
export interface ResolvedInputs {
  apiBaseUrl: string;
  secretEnv: Record<string, string>;
  volumes: VolumeMountSpec[];
  source: LocalSource | undefined;
}

/**
 * A deployment at its current revision as a scheduler-neutral JobSpec. Pure: no I/O, no clock, no
 * environment. Platform variables come last so they win (compat.md §8.14).
 */
export function toJobSpec(record: DeploymentRecord, inputs: ResolvedInputs): JobSpec {
  return {
    deploymentId: record.id,
    deploymentName: record.name,
    revisionId: record.revision_id,
    image: record.image,
    source: inputs.source,
    command: record.command.length > 0 ? record.command : undefined,
    args: record.args.length > 0 ? record.args : undefined,
    env: { ...plainEnvironment(record.environment_variables), ...platformEnvironment(record, inputs.apiBaseUrl) },
    secretEnv: inputs.secretEnv,
    port: record.port,
    healthCheckPath: record.health_check_path === '' ? undefined : record.health_check_path,
    cpu: record.cpu,
    memoryGiB: record.memory,
    storageGiB: record.storage,
    gpuType: record.gpu_type,
    gpuCount: record.gpu_type === 'none' ? 0 : record.gpu_count,
    volumes: inputs.volumes,
    terminationGracePeriodSeconds: record.termination_grace_period_seconds,
    replicas: record.desired_replicas,
    minReplicas: record.min_replicas,
    maxReplicas: record.max_replicas,
    jobId: record.job_id,
  };
}

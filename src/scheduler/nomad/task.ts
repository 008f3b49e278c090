import type { Resources, Task, TaskArtifact, Template } from '../../clients/nomad/types.js';
import type { GpuType } from '../../deployments/gpu-catalog.js';
import type { JobSpec } from '../scheduler.js';
import { gpuDevices } from './devices.js';
import { PORT_LABEL, seconds, TASK_NAME, type ClusterSettings } from './settings.js';

/** One file of a volume version and the URL its artifact downloads it from. */
export interface VolumeFile {
  /** Path inside the volume (`pantry/curry.txt`). */
  path: string;
  url: string;
}

/** A mounted volume as the task preloads it: every file as an `artifact`, then one read-only bind mount. */
export interface VolumeArtifacts {
  name: string;
  mountPath: string;
  version: number;
  files: VolumeFile[];
}

export interface TaskInput {
  spec: JobSpec;
  gpu: GpuType;
  settings: ClusterSettings;
  /** The KV v2 path holding the job's secret environment (`WorkloadSecrets.templatePath`). */
  secretsPath: string;
  volumes: VolumeArtifacts[];
}

/** Where a volume's files land inside the allocation's task directory. */
export function volumeDir(name: string): string {
  return `local/volumes/${name}`;
}

/**
 * The worker task: docker with the deployment's image, the secret environment rendered from Vault by a
 * template (values never in the job), volumes preloaded by artifacts, and the grace period as the kill
 * timeout after SIGTERM.
 */
export function workerTask(input: TaskInput): Task {
  const { spec } = input;
  return {
    Name: TASK_NAME,
    Driver: 'docker',
    Config: dockerConfig(input),
    Env: { ...spec.env, PORT: String(spec.port) },
    Resources: resources(input),
    Vault: { ...(input.settings.vaultRole ? { Role: input.settings.vaultRole } : {}), ChangeMode: 'noop' },
    Templates: [secretTemplate(input.secretsPath)],
    Artifacts: input.volumes.flatMap(volumeArtifacts),
    KillTimeout: seconds(spec.terminationGracePeriodSeconds),
    KillSignal: 'SIGTERM',
    LogConfig: { MaxFiles: 10, MaxFileSizeMB: 10 },
  };
}

/**
 * Docker driver config. The hostname is the allocation id, so the `hostname` a worker reports names its
 * allocation (compat.md §8.2). Multi-GPU workers get a large /dev/shm for NCCL (docker's default is 64 MiB).
 */
function dockerConfig({ spec, gpu, settings, volumes }: TaskInput): Record<string, unknown> {
  const gpus = gpuDevices(gpu, spec.gpuCount).length > 0;
  return {
    image: spec.image,
    ports: [PORT_LABEL],
    hostname: '${NOMAD_ALLOC_ID}',
    image_pull_timeout: `${settings.imagePullTimeoutSeconds}s`,
    ...(spec.command ? { entrypoint: spec.command } : {}),
    ...(spec.args ? { args: spec.args } : {}),
    ...(gpus ? { shm_size: Math.floor((spec.memoryGiB * 1024 ** 3) / 2) } : {}),
    ...(volumes.length > 0 ? { mount: volumes.map(bindMount) } : {}),
  };
}

function bindMount(volume: VolumeArtifacts): Record<string, unknown> {
  return { type: 'bind', source: volumeDir(volume.name), target: volume.mountPath, readonly: true };
}

/**
 * Whole cores are reserved as `Cores`; a fractional request (cpu 0.5) becomes `CPU` in MHz, since Nomad
 * takes one or the other, never both.
 */
function resources({ spec, gpu, settings }: TaskInput): Resources {
  const whole = Number.isInteger(spec.cpu) && spec.cpu >= 1;
  const devices = gpuDevices(gpu, spec.gpuCount);
  return {
    ...(whole ? { Cores: spec.cpu } : { CPU: Math.max(1, Math.round(spec.cpu * settings.mhzPerCore)) }),
    MemoryMB: Math.round(spec.memoryGiB * 1024),
    ...(devices.length > 0 ? { Devices: devices } : {}),
  };
}

/**
 * Renders every key of the job's KV v2 secret as `KEY="value"` into an env file (hashicorp.md §1.12).
 * `noop`: a changed value reaches replicas through a new revision (Gantry rolls them), never by restarting
 * running allocations in place.
 */
export function secretTemplate(path: string): Template {
  const body = `{{ with secret ${JSON.stringify(path)} }}{{ range $k, $v := .Data.data }}{{ $k }}={{ $v | toJSON }}\n{{ end }}{{ end }}`;
  return { EmbeddedTmpl: body, DestPath: 'secrets/gantry.env', Envvars: true, ChangeMode: 'noop' };
}

/** `archive=false`: a volume file is exactly what was uploaded, never unpacked by go-getter. */
function volumeArtifacts(volume: VolumeArtifacts): TaskArtifact[] {
  return volume.files.map((file) => ({
    GetterSource: file.url,
    GetterMode: 'file',
    GetterOptions: { archive: 'false' },
    RelativeDest: `${volumeDir(volume.name)}/${file.path}`,
  }));
}

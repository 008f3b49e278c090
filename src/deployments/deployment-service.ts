import type { CreateDeploymentInput, UpdateDeploymentInput } from '../api/schemas/deployments.js';
import type { KeyService } from '../auth/key-service.js';
import type { Scheduler, VolumeMountSpec } from '../scheduler/scheduler.js';
import { UnsupportedSpecError } from '../scheduler/scheduler.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { isoTime, type Clock } from '../shared/clock.js';
import { appError } from '../shared/errors.js';
import { newId, prefixedId, sha256Hex } from '../shared/ids.js';
import type { StateStore, TxnOp } from '../state/state-store.js';
import { canonicalizeCreate, canonicalizeUpdate } from './canonicalize.js';
import { DeploymentRecords } from './deployment-records.js';
import { assertValidEnvironment, environmentView, overrideWarnings, resolveSecretEnvironment } from './environment.js';
import type { GpuCatalog } from './gpu-catalog.js';
import { resolveLocalSource } from './local-source.js';
import { assertMayNameSource, realPathOf, type SourceCaller } from './source-access.js';
import { jobIdOf } from './names.js';
import { observe } from './status.js';
import { toJobSpec } from './to-job-spec.js';
import type { DeploymentRecord, DeploymentSpec, SourceRef, VolumeMount } from './types.js';
import { formatLogs, type LogQuery } from './logs.js';

/** The volume operations deployments need (implemented by VolumeService). */
export interface VolumeMounts {
  resolveMount(
    nameOrId: string,
    version: number | undefined,
  ): Promise<{ volumeId: string; name: string; version: number; sourcePrefix: string; hostPath: string }>;
  setMounts(deploymentId: string, mounts: Array<{ volumeId: string; version: number }>): Promise<void>;
  clearMounts(deploymentId: string): Promise<void>;
}

export interface DeploymentServiceDeps {
  state: StateStore;
  secrets: SecretStore;
  volumes: VolumeMounts;
  scheduler: Scheduler;
  keys: Pick<KeyService, 'revokeWorkerTokens'>;
  gpus: GpuCatalog;
  clock: Clock;
  /** The URL replicas reach Gantry at (TOGETHER_API_BASE_URL); known once the server listens. */
  apiBaseUrl: () => string;
  /** Where user keys without --allow-local-source may name local project directories (default: nowhere). */
  sourceRoots?: readonly string[];
  /** The autoscaler's recent decisions, shown as `x_gantry_scaling_events` (default: none shown). */
  scalingEvents?: { list(deploymentId: string): Promise<Array<{ at: string; event: string; from: number }>> };
}

type OpenSpec = ReturnType<typeof canonicalizeCreate>;

/** What a spec resolves to before it is stored and applied. */
interface Resolved {
  spec: DeploymentSpec;
  volumes: VolumeMountSpec[];
  volumeIds: Array<{ volumeId: string; version: number }>;
  secretEnv: Record<string, string>;
  secretStamp: string;
}

/**
 * The Deployments API's domain (compat.md §5.1): validates and resolves specs, stores records, keeps
 * revisions, applies them to the Scheduler and reports status from the replicas. No Fastify here.
 */
export class DeploymentService {
  private readonly records: DeploymentRecords;

  constructor(private readonly deps: DeploymentServiceDeps) {
    this.records = new DeploymentRecords(deps.state);
  }

  /** `caller` is who asks: it decides whether `x_gantry_source` may be named (source-access.ts). */
  async create(input: CreateDeploymentInput, caller: SourceCaller): Promise<Record<string, unknown>> {
    const open = canonicalizeCreate(input);
    const source = this.authorizeSource(open.x_gantry_source, true, caller);
    const resolved = await this.resolve({ ...open, x_gantry_source: source }, undefined);
    const now = isoTime(this.deps.clock.now());
    const record: DeploymentRecord = {
      ...resolved.spec,
      id: prefixedId('dep'),
      name: input.name,
      job_id: jobIdOf(input.name),
      revision_id: newId(),
      revision_fingerprint: fingerprint(resolved, input.name),
      desired_replicas: resolved.spec.min_replicas,
      created_at: now,
      updated_at: now,
      previous_names: [],
      warnings: overrideWarnings(resolved.spec.environment_variables),
    };
    await this.records.insert(record);
    await this.applyOrUndo(record, resolved, () => this.records.remove(record));
    return this.view(record);
  }

  async update(idOrName: string, input: UpdateDeploymentInput, caller: SourceCaller): Promise<Record<string, unknown>> {
    const stored = await this.records.get(idOrName);
    const current = stored.record;
    const name = input.name ?? current.name;
    const open = canonicalizeUpdate(current, input, name);
    const source = this.authorizeSource(open.x_gantry_source, Boolean(input.x_gantry_source), caller);
    const resolved = await this.resolve({ ...open, x_gantry_source: source }, current);
    const next = this.nextRecord(current, resolved, name);
    await this.records.update(stored, next);
    await this.applyOrUndo(next, resolved, async () => this.records.update(await this.records.get(next.id), current));
    return this.view(next);
  }

  async get(idOrName: string): Promise<Record<string, unknown>> {
    return this.view((await this.records.get(idOrName)).record);
  }

  async list(): Promise<Array<Record<string, unknown>>> {
    const all = await this.records.all();
    return Promise.all(all.map((d) => this.view(d.record)));
  }

  async remove(idOrName: string): Promise<void> {
    const { record } = await this.records.get(idOrName);
    await this.deps.scheduler.stop(record.id);
    await this.deps.keys.revokeWorkerTokens(record.id);
    await this.deps.volumes.clearMounts(record.id);
    await this.records.remove(record);
  }

  /** The record behind an id or name (direct HTTP, queue). */
  async record(idOrName: string): Promise<DeploymentRecord> {
    return (await this.records.get(idOrName)).record;
  }

  /**
   * Saves the desired replica count, clamped to [min_replicas, max_replicas]; retries when a concurrent
   * PATCH changed the record. Returns the count. The autoscaler's entry point: it brings the scheduler to
   * the saved count itself, every round until the scheduler took it (`autoscaler/scale-reconciler.ts`),
   * so a failed scale call, or a leader gone between the two, is made good. With the leadership's
   * `fence`, nothing is saved once that leadership is over.
   */
  async setDesiredReplicas(idOrName: string, count: number, fence?: TxnOp): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const stored = await this.records.get(idOrName);
      const r = stored.record;
      const desired = Math.min(r.max_replicas, Math.max(r.min_replicas, count));
      if (desired === r.desired_replicas) return desired;
      const next = { ...r, desired_replicas: desired, updated_at: isoTime(this.deps.clock.now()) };
      const written = await this.records.update(stored, next, fence).then(() => true, (err: unknown) => {
        if (attempt >= 4 || (err as { code?: string }).code === 'GANTRY_ERR_NOT_LEADER') throw err;
        return false;
      });
      if (written) return desired;
    }
  }

  /** Every stored record (the autoscaler's tick). */
  async allRecords(): Promise<DeploymentRecord[]> {
    return (await this.records.all()).map((d) => d.record);
  }

  /** Log lines, formatted (compat.md §8.18, §8.26). */
  async logs(idOrName: string, query: LogQuery): Promise<AsyncIterable<string[]>> {
    const { record } = await this.records.get(idOrName);
    return formatLogs(this.deps.scheduler, record, query);
  }

  /**
   * Checks that `caller` may name the source it sends (`sent`); a kept source passes unless its real path
   * changed since it was allowed. Returns the source with its real path noted.
   */
  private authorizeSource(source: SourceRef | null, sent: boolean, caller: SourceCaller): SourceRef | null {
    if (!source) return source;
    const real = realPathOf(source.path);
    if (sent || real !== source.real_path) assertMayNameSource(caller, source.path, this.deps.sourceRoots ?? []);
    const { real_path: _old, ...ref } = source;
    return real ? { ...ref, real_path: real } : ref;
  }

  private nextRecord(current: DeploymentRecord, resolved: Resolved, name: string): DeploymentRecord {
    const print = fingerprint(resolved, name);
    const renamed = name !== current.name;
    return {
      ...current,
      ...resolved.spec,
      name,
      revision_id: print === current.revision_fingerprint ? current.revision_id : newId(),
      revision_fingerprint: print,
      desired_replicas: desiredAfterUpdate(current.desired_replicas, resolved.spec),
      updated_at: isoTime(this.deps.clock.now()),
      previous_names: renamed ? [...new Set([...current.previous_names, current.name])] : current.previous_names,
      warnings: overrideWarnings(resolved.spec.environment_variables),
    };
  }

  /** Validates what cannot be said in a schema and resolves secrets, volumes and the local source. */
  private async resolve(open: OpenSpec, current: DeploymentRecord | undefined): Promise<Resolved> {
    this.assertGpu(open.gpu_type, open.gpu_count);
    if (open.max_replicas < open.min_replicas) {
      throw appError('GANTRY_ERR_REQUEST_INVALID', `max_replicas: must be at least min_replicas (${open.min_replicas})`, { param: 'max_replicas' });
    }
    assertValidEnvironment(open.environment_variables);
    const secretEnv = await resolveSecretEnvironment(open.environment_variables, this.deps.secrets);
    const mounts = await this.resolveVolumes(open.volumes, current?.volumes ?? []);
    const spec: DeploymentSpec = { ...open, volumes: mounts.map((m) => m.mount) };
    return {
      spec,
      volumes: mounts.map((m) => m.spec),
      volumeIds: mounts.map((m) => ({ volumeId: m.volumeId, version: m.mount.version })),
      secretEnv,
      secretStamp: await this.secretStamp(open.environment_variables),
    };
  }

  private assertGpu(gpuType: string, gpuCount: number): void {
    const type = this.deps.gpus.get(gpuType);
    if (!type) {
      const known = this.deps.gpus.names().join(', ');
      throw appError('GANTRY_ERR_REQUEST_INVALID', `gpu_type: unknown GPU type "${gpuType}"; known types: ${known}`, { param: 'gpu_type' });
    }
    if (type.none && gpuCount > 0) {
      throw appError('GANTRY_ERR_REQUEST_INVALID', 'gpu_count: must be 0 when gpu_type is "none"', { param: 'gpu_count' });
    }
  }

  private async resolveVolumes(mounts: OpenSpec['volumes'], mounted: VolumeMount[]) {
    const paths = new Set<string>();
    const out = [];
    for (const [i, m] of mounts.entries()) {
      if (paths.has(m.mount_path)) {
        throw appError('GANTRY_ERR_REQUEST_INVALID', `volumes.${i}.mount_path: "${m.mount_path}" is mounted twice`, { param: `volumes.${i}.mount_path` });
      }
      paths.add(m.mount_path);
      const found = await this.resolveMount(m, mounted).catch((err: unknown) => {
        throw appError('GANTRY_ERR_REQUEST_INVALID', `volumes.${i}.name: ${(err as Error).message}`, { param: `volumes.${i}.name`, cause: err });
      });
      out.push({
        volumeId: found.volumeId,
        mount: { name: m.name, mount_path: m.mount_path, version: found.version, volume_id: found.volumeId },
        spec: { name: found.name, mountPath: m.mount_path, version: found.version, hostPath: found.hostPath },
      });
    }
    return out;
  }

  /**
   * A mount resolved by its volume id when it has one (kept mounts survive a volume rename), else by name.
   * Without a sent version it keeps the version already mounted from the same volume, else the current one.
   */
  private async resolveMount(m: OpenSpec['volumes'][number] & { volume_id?: string }, mounted: VolumeMount[]) {
    const ref = m.volume_id ?? m.name;
    if (m.version !== undefined) return this.deps.volumes.resolveMount(ref, m.version);
    const current = await this.deps.volumes.resolveMount(ref, undefined);
    const kept = mounted.find((v) => v.volume_id === current.volumeId)?.version;
    return kept === undefined || kept === current.version ? current : this.deps.volumes.resolveMount(current.volumeId, kept);
  }

  /** Identifies the versions of the secrets a spec uses (not their values), so a changed secret rolls replicas. */
  private async secretStamp(vars: DeploymentSpec['environment_variables']): Promise<string> {
    const stamps = [];
    for (const v of vars) {
      if (v.value_from_secret === undefined) continue;
      const secret = await this.deps.secrets.get(v.value_from_secret);
      stamps.push(`${v.name}=${secret?.id}@${secret?.updated_at}`);
    }
    return stamps.join(',');
  }

  private async applyOrUndo(record: DeploymentRecord, resolved: Resolved, undo: () => Promise<unknown>): Promise<void> {
    try {
      const source = record.x_gantry_source ? resolveLocalSource(record.x_gantry_source) : undefined;
      const spec = toJobSpec(record, { apiBaseUrl: this.deps.apiBaseUrl(), secretEnv: resolved.secretEnv, volumes: resolved.volumes, source });
      await this.deps.scheduler.apply(spec);
      await this.deps.volumes.setMounts(record.id, resolved.volumeIds);
    } catch (err) {
      await undo();
      if (err instanceof UnsupportedSpecError) throw appError('GANTRY_ERR_DEPLOYMENT_UNSUPPORTED', err.message, { cause: err });
      throw err;
    }
  }

  private async view(record: DeploymentRecord): Promise<Record<string, unknown>> {
    const scaling = (await this.deps.scalingEvents?.list(record.id)) ?? [];
    const observed = observe(record, await this.deps.scheduler.replicas(record.id), scaledFromZero(record, scaling.at(-1)));
    const { revision_fingerprint: _f, previous_names: _p, job_id: _j, autoscaling, x_gantry_source, ...rest } = record;
    return {
      ...rest,
      object: 'deployment',
      status: observed.status,
      ready_replicas: observed.ready_replicas,
      environment_variables: environmentView(record),
      ...(autoscaling ? { autoscaling } : {}),
      ...(x_gantry_source ? { x_gantry_source: withoutRealPath(x_gantry_source) } : {}),
      replica_events: observed.replica_events,
      ...(scaling.length ? { x_gantry_scaling_events: scaling } : {}),
    };
  }
}

/** The last change to the record was the autoscaler bringing it back from zero (not a deploy or PATCH). */
function scaledFromZero(record: DeploymentRecord, last: { at: string; event: string; from: number } | undefined): boolean {
  return last?.event === 'ScaleUp' && last.from === 0 && Date.parse(last.at) >= Date.parse(record.updated_at);
}

function withoutRealPath(source: SourceRef): SourceRef {
  const { real_path: _real, ...shown } = source;
  return shown;
}

/** Without autoscaling a deployment runs min_replicas (§8.25); with it, the count stays within [min, max]. */
function desiredAfterUpdate(current: number, spec: DeploymentSpec): number {
  if (!spec.autoscaling) return spec.min_replicas;
  return Math.min(spec.max_replicas, Math.max(spec.min_replicas, current));
}

/** Everything that defines what replicas run; the name is in it because replicas see it (§8.14). */
function fingerprint(resolved: Resolved, name: string): string {
  const s = resolved.spec;
  return sha256Hex(
    JSON.stringify([
      name, s.image, s.command, s.args, s.environment_variables, s.volumes, s.gpu_type, s.gpu_count,
      s.cpu, s.memory, s.storage, s.port, s.health_check_path, s.termination_grace_period_seconds,
      s.x_gantry_source, resolved.secretStamp,
    ]),
  );
}

import type { NomadClient } from '../../clients/nomad/index.js';
import { isNomadError } from '../../clients/nomad/http.js';
import type { Allocation, Job } from '../../clients/nomad/types.js';
import type { ReplicaStatus } from '../scheduler.js';
import type { VersionInfo } from './replica-status.js';
import { PORT_LABEL } from './settings.js';
import { META_DEPLOYMENT, META_REVISION } from './translate.js';

/** The prefix of every job Gantry registers (compat.md §8.24). */
const JOB_PREFIX = 'gantry-';
/** Least time between two list refreshes triggered by allocations of unknown jobs. */
const REFRESH_MS = 10_000;

export function versionInfoOf(job: Job): VersionInfo {
  const image = job.TaskGroups[0]?.Tasks[0]?.Config.image;
  return { revisionId: job.Meta?.[META_REVISION] ?? '', image: typeof image === 'string' ? image : '' };
}

/**
 * What the scheduler remembers about Nomad's jobs: deployment → job id (learnt at apply, or found by the
 * job's meta after a restart), each job version's revision and image, and each allocation's address (fixed
 * for its life). All of it can be rebuilt from Nomad.
 */
export class JobDirectory {
  private readonly jobIds = new Map<string, string>();
  private readonly deployments = new Map<string, string>();
  private readonly versions = new Map<string, Map<number, VersionInfo>>();
  private readonly addresses = new Map<string, ReplicaStatus['address']>();
  private refreshedAt = 0;

  constructor(private readonly client: NomadClient) {}

  remember(deploymentId: string, jobId: string): void {
    this.jobIds.set(deploymentId, jobId);
    this.deployments.set(jobId, deploymentId);
  }

  forget(deploymentId: string): void {
    const jobId = this.jobIds.get(deploymentId);
    this.jobIds.delete(deploymentId);
    if (jobId) {
      this.deployments.delete(jobId);
      this.versions.delete(jobId);
    }
  }

  /** The deployment's job id, or undefined when Nomad has no job of it. */
  async jobIdOf(deploymentId: string): Promise<string | undefined> {
    const known = this.jobIds.get(deploymentId);
    if (known) return known;
    await this.refresh();
    return this.jobIds.get(deploymentId);
  }

  /**
   * The deployment a job belongs to. A Gantry job this process has not seen (another control-plane replica
   * created it) is looked up in Nomad's list, at most once per `REFRESH_MS`.
   */
  async deploymentOf(jobId: string): Promise<string | undefined> {
    const known = this.deployments.get(jobId);
    if (known || !jobId.startsWith(JOB_PREFIX) || Date.now() - this.refreshedAt < REFRESH_MS) return known;
    await this.refresh();
    return this.deployments.get(jobId);
  }

  /** Learns every Gantry job from Nomad's list (by its meta). */
  async refresh(): Promise<void> {
    this.refreshedAt = Date.now();
    const { data } = await this.client.jobs.list(JOB_PREFIX);
    for (const stub of data) {
      const deploymentId = stub.Meta?.[META_DEPLOYMENT];
      if (deploymentId && !stub.Stop) this.remember(deploymentId, stub.ID);
    }
  }

  /** The revision and image a job version ran. */
  async version(jobId: string, version: number): Promise<VersionInfo> {
    const cached = this.versions.get(jobId)?.get(version);
    if (cached) return cached;
    const { data } = await this.client.jobs.versions(jobId).catch((err: unknown) => {
      if (isNomadError(err, 404)) return { data: { Versions: [] as Job[] } };
      throw err;
    });
    const map = new Map(data.Versions.map((v) => [v.Version ?? 0, versionInfoOf(v)]));
    this.versions.set(jobId, map);
    return map.get(version) ?? { revisionId: '', image: '' };
  }

  /** Where a running allocation serves HTTP (its `http` port on the node). */
  async address(allocId: string): Promise<ReplicaStatus['address']> {
    if (this.addresses.has(allocId)) return this.addresses.get(allocId);
    const { data } = await this.client.allocations.info(allocId);
    const address = addressOf(data);
    if (address) this.addresses.set(allocId, address);
    return address;
  }
}

function addressOf(alloc: Allocation): ReplicaStatus['address'] {
  const port = alloc.AllocatedResources?.Shared?.Ports?.find((p) => p.Label === PORT_LABEL);
  return port ? { host: port.HostIP, port: port.Value } : undefined;
}

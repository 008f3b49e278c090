import { NomadClient } from '../../src/clients/nomad/index.js';
import { GpuCatalog } from '../../src/deployments/gpu-catalog.js';
import { NomadScheduler, type DeploymentTokens, type VolumeFiles } from '../../src/scheduler/nomad/nomad-scheduler.js';
import { DEFAULT_CLUSTER_SETTINGS, type ClusterSettings } from '../../src/scheduler/nomad/settings.js';
import { systemClock } from '../../src/shared/clock.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';
import { MemoryWorkloadSecrets } from '../doubles/nomad/memory-workload-secrets.js';
import { NomadDouble, type NomadDoubleOptions } from '../doubles/nomad/nomad-double.js';

/** Deployment tokens that record what was issued and revoked. */
export class RecordingDeploymentTokens implements DeploymentTokens {
  readonly issued: Array<{ deploymentId: string; revisionId: string; token: string; live: boolean }> = [];
  /** Deployments whose every token was revoked (destroy). */
  readonly revoked: string[] = [];
  /** Revisions whose tokens were revoked on their own. */
  readonly revokedRevisions: Array<{ deploymentId: string; revisionId: string }> = [];

  async issue(deploymentId: string, revisionId: string): Promise<string> {
    const token = `gantryw_test_${this.issued.length}_${deploymentId}`;
    this.issued.push({ deploymentId, revisionId, token, live: true });
    return token;
  }

  /** The issue order stands in for the issue time. */
  async revisions(deploymentId: string): Promise<Array<{ revisionId: string; issuedAt: number }>> {
    const newest = new Map<string, number>();
    this.issued.forEach((t, i) => {
      if (t.live && t.deploymentId === deploymentId) newest.set(t.revisionId, i);
    });
    return [...newest].map(([revisionId, issuedAt]) => ({ revisionId, issuedAt }));
  }

  async revoke(deploymentId: string, revisionId?: string): Promise<void> {
    if (revisionId === undefined) this.revoked.push(deploymentId);
    else this.revokedRevisions.push({ deploymentId, revisionId });
    for (const t of this.issued) if (t.deploymentId === deploymentId && (revisionId === undefined || t.revisionId === revisionId)) t.live = false;
  }

  /** The revisions of the deployment still holding a live token. */
  liveRevisions(deploymentId: string): string[] {
    return [...new Set(this.issued.filter((t) => t.live && t.deploymentId === deploymentId).map((t) => t.revisionId))];
  }
}

/** Volume files at fixed signed-looking URLs. */
export const testVolumeFiles: VolumeFiles = {
  filesOf: async (v) => [{ path: 'data.txt', url: `https://gantry.test/v1/storage/${v.name}/${v.version}/data.txt?signature=x` }],
};

export interface NomadTestRig {
  nomad: NomadDouble;
  scheduler: NomadScheduler;
  secrets: MemoryWorkloadSecrets;
  tokens: RecordingDeploymentTokens;
  client: NomadClient;
  close(): Promise<void>;
}

/** A NomadScheduler over a started Nomad double, with in-memory secrets and tokens. */
export async function createNomadRig(options: NomadDoubleOptions = {}, settings: Partial<ClusterSettings> = {}, logger?: Logger): Promise<NomadTestRig> {
  const nomad = new NomadDouble({ token: 'rig-token', heartbeatMs: 200, ...options });
  const url = await nomad.start();
  const client = new NomadClient({ address: url, token: 'rig-token', retry: { attempts: 3, baseMs: 10, maxMs: 50 } });
  const secrets = new MemoryWorkloadSecrets();
  const tokens = new RecordingDeploymentTokens();
  const scheduler = new NomadScheduler({
    client,
    settings: { ...DEFAULT_CLUSTER_SETTINGS, ...settings },
    gpus: new GpuCatalog(),
    secrets,
    tokens,
    volumes: testVolumeFiles,
    clock: systemClock,
    logger: logger ?? createLogger({ level: 'silent' }),
    watchWaitMs: 5000,
  });
  await scheduler.start();
  return {
    nomad, scheduler, secrets, tokens, client,
    close: async () => {
      await scheduler.close();
      await nomad.close();
    },
  };
}

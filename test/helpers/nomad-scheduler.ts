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
  readonly issued: Array<{ deploymentId: string; token: string }> = [];
  readonly revoked: string[] = [];

  async issue(deploymentId: string): Promise<string> {
    const token = `gantryw_test_${this.issued.length}_${deploymentId}`;
    this.issued.push({ deploymentId, token });
    return token;
  }

  async revoke(deploymentId: string): Promise<void> {
    this.revoked.push(deploymentId);
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

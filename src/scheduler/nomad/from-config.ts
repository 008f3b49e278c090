import { readFileSync } from 'node:fs';
import { NomadClient } from '../../clients/nomad/index.js';
import { ConfigError } from '../../config/load.js';
import type { ServerConfig } from '../../config/schema.js';
import type { GpuCatalog } from '../../deployments/gpu-catalog.js';
import type { WorkloadSecrets } from '../../secrets/workload-secrets.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { NomadScheduler, type DeploymentTokens, type VolumeFiles } from './nomad-scheduler.js';
import { DEFAULT_CLUSTER_SETTINGS, type ClusterSettings } from './settings.js';

export interface NomadSchedulerDeps {
  gpus: GpuCatalog;
  tokens: DeploymentTokens;
  volumes: VolumeFiles;
  clock: Clock;
  logger: Logger;
  /** Where jobs read their secrets; required (Vault in the cluster, or a test's). */
  workloadSecrets: WorkloadSecrets | undefined;
}

/** The cluster settings of every worker job, from the server configuration. */
export function clusterSettingsOf(config: ServerConfig): ClusterSettings {
  const n = config.nomad;
  return {
    ...DEFAULT_CLUSTER_SETTINGS,
    namespace: n.namespace,
    region: n.region ?? DEFAULT_CLUSTER_SETTINGS.region,
    datacenters: [...n.datacenters],
    nodePool: n.nodePool,
    constraints: n.constraints.map((c) => ({ LTarget: c.attribute, Operand: c.operator, RTarget: c.value })),
    vaultRole: n.vaultRole,
    imagePullTimeoutSeconds: n.imagePullTimeoutSeconds,
    healthyDeadlineSeconds: n.healthyDeadlineSeconds,
    progressDeadlineSeconds: n.progressDeadlineSeconds,
    serviceProvider: config.cluster.consulAddr ? 'consul' : 'nomad',
  };
}

function readPem(file: string | undefined, setting: string): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${setting} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
}

/**
 * The NomadScheduler for `NOMAD_ADDR`. Refuses combinations that cannot work: Nomad-run workers must reach
 * Gantry at a public URL, and their secrets (and worker token) can only reach them through Vault.
 */
export function buildNomadScheduler(config: ServerConfig, deps: NomadSchedulerDeps): NomadScheduler {
  const problems: string[] = [];
  if (!config.publicUrl) problems.push('NOMAD_ADDR is set: GANTRY_PUBLIC_URL must say where Nomad-run workers reach Gantry (https://…)');
  if (!deps.workloadSecrets) {
    problems.push('NOMAD_ADDR is set: Nomad jobs read their secrets and worker token from Vault; set VAULT_ADDR (and VAULT_TOKEN or AppRole)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const n = config.nomad;
  const client = new NomadClient({
    address: config.cluster.nomadAddr!,
    token: n.token,
    namespace: n.namespace,
    region: n.region,
    tls: { ca: readPem(n.caCertFile, 'NOMAD_CACERT'), cert: readPem(n.clientCertFile, 'NOMAD_CLIENT_CERT'), key: readPem(n.clientKeyFile, 'NOMAD_CLIENT_KEY') },
  });
  return new NomadScheduler({ client, settings: clusterSettingsOf(config), secrets: deps.workloadSecrets!, ...deps });
}

import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isNomadError, NomadClient } from '../../src/clients/nomad/index.js';
import { GpuCatalog } from '../../src/deployments/gpu-catalog.js';
import { NomadScheduler } from '../../src/scheduler/nomad/nomad-scheduler.js';
import { DEFAULT_CLUSTER_SETTINGS } from '../../src/scheduler/nomad/settings.js';
import type { JobSpec, ReplicaStatus } from '../../src/scheduler/scheduler.js';
import { systemClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/logger.js';
import { VaultAuth } from '../../src/secrets/vault/vault-auth.js';
import { createVaultClient } from '../../src/secrets/vault/vault-client.js';
import { VaultKv } from '../../src/secrets/vault/vault-kv.js';
import { VaultWorkloadSecrets } from '../../src/secrets/vault/vault-workload-secrets.js';
import { H100_NODE, NomadDouble } from '../doubles/nomad/nomad-double.js';
import { createVaultDouble, type VaultDouble } from '../doubles/vault/vault-double.js';
import { RecordingDeploymentTokens, testVolumeFiles } from '../helpers/nomad-scheduler.js';
import { waitFor, waitForReplicas, workerSpec } from './scheduler-support.js';

/**
 * The NomadScheduler against a Nomad agent: a real one when `NOMAD_ADDR` is set (`NOMAD_TOKEN`,
 * `NOMAD_NAMESPACE`), else the Nomad double, once with the docker driver and once without. Workload
 * secrets go to Vault through the real client code: `VAULT_ADDR`/`VAULT_TOKEN` (KV v2 at `secret/`, the
 * Vault the agent's `vault` block points at) when set, else the Vault double.
 *
 * On an agent whose nodes have a healthy docker driver, replicas run (the agent must have Vault enabled
 * and reach `VAULT_ADDR`); on one without, placement fails and the suite checks that every replica
 * reports it (`Unschedulable`, "missing drivers"). Every deployment is destroyed after its test, and the
 * run purges any job left under its prefix.
 */

interface Agent {
  client: NomadClient;
  scheduler: NomadScheduler;
  tokens: RecordingDeploymentTokens;
  kv: VaultKv;
  /** Whether some node has a healthy docker driver (replicas can run). */
  canRun: boolean;
  /** How long a replica may take to start or to report why it cannot (image pulls on a real agent). */
  timeoutMs: number;
  close(): Promise<void>;
}

const silent = createLogger({ level: 'silent' });
const REAL = process.env.NOMAD_ADDR;
const NAMESPACE = process.env.NOMAD_NAMESPACE || 'default';

async function vaultKv(): Promise<{ kv: VaultKv; close: () => Promise<void>; double?: VaultDouble }> {
  const real = process.env.VAULT_ADDR && process.env.VAULT_TOKEN;
  const double = real ? undefined : await createVaultDouble({ mounts: ['secret'] });
  const client = createVaultClient({ address: real ? process.env.VAULT_ADDR! : double!.url });
  const auth = new VaultAuth(client, { kind: 'token', token: real ? process.env.VAULT_TOKEN! : double!.rootToken }, silent);
  await auth.start();
  return { kv: new VaultKv(client, 'secret', auth), double, close: async () => double?.close() };
}

/** Whether any ready node of the agent has a healthy docker driver. */
async function dockerAvailable(address: string, token: string | undefined): Promise<boolean> {
  const res = await fetch(`${address}/v1/nodes`, { headers: token ? { 'X-Nomad-Token': token } : {} });
  if (!res.ok) throw new Error(`GET /v1/nodes: ${res.status} ${await res.text()}`);
  const nodes = (await res.json()) as Array<{ Status: string; Drivers?: Record<string, { Healthy?: boolean }> }>;
  return nodes.some((n) => n.Status === 'ready' && n.Drivers?.docker?.Healthy === true);
}

async function connect(address: string, token: string | undefined, onClose: () => Promise<void>, timeoutMs: number): Promise<Agent> {
  const client = new NomadClient({ address, token, namespace: NAMESPACE });
  const vault = await vaultKv();
  const canRun = await dockerAvailable(address, token);
  if (REAL && canRun && vault.double) throw new Error('the agent runs docker: set VAULT_ADDR and VAULT_TOKEN to the Vault its jobs read');
  const tokens = new RecordingDeploymentTokens();
  const scheduler = new NomadScheduler({
    client,
    settings: { ...DEFAULT_CLUSTER_SETTINGS, namespace: NAMESPACE, serviceProvider: process.env.CONSUL_HTTP_ADDR ? 'consul' : 'nomad', minHealthyTimeSeconds: 1 },
    gpus: new GpuCatalog(),
    secrets: new VaultWorkloadSecrets(vault.kv),
    tokens,
    volumes: testVolumeFiles,
    clock: systemClock,
    logger: silent,
    watchWaitMs: 5000,
  });
  await scheduler.start();
  return {
    client, scheduler, tokens, kv: vault.kv, canRun, timeoutMs,
    close: async () => {
      await scheduler.close();
      await vault.close();
      await onClose();
    },
  };
}

async function doubleAgent(drivers: string[] | undefined): Promise<Agent> {
  const nomad = new NomadDouble({ token: 'agent-suite-token', heartbeatMs: 200, nodes: [{ ...H100_NODE, ...(drivers ? { drivers } : {}) }] });
  const url = await nomad.start();
  return connect(url, 'agent-suite-token', () => nomad.close(), 15_000);
}

function describeAgent(name: string, make: () => Promise<Agent>): void {
  describe(`NomadScheduler against ${name}`, () => {
    let agent: Agent;
    /** Every job id of the run starts with it (Gantry's `gantry-` prefix included). */
    const prefix = `gantry-sched-${process.pid}-${randomUUID().slice(0, 4)}-`;
    const applied: string[] = [];
    const jobIds: string[] = [];
    let n = 0;

    beforeAll(async () => {
      agent = await make();
    }, 60_000);
    afterEach(async () => {
      for (const id of applied.splice(0)) await agent.scheduler.stop(id);
    }, 120_000);
    afterAll(async () => {
      if (!agent) return;
      const { data } = await agent.client.jobs.list(prefix);
      for (const job of data) await agent.client.jobs.deregister(job.ID, true);
      await agent.close();
    }, 60_000);

    /** A busybox worker that prints the start line and serves HTTP on its port, small enough for any node. */
    function spec(overrides: Partial<JobSpec> = {}): JobSpec {
      const id = `${++n}`;
      applied.push(`dep_agent_${id}`);
      jobIds.push(`${prefix}${id}`);
      return workerSpec({
        source: undefined, deploymentId: `dep_agent_${id}`, deploymentName: `agent-${id}`, jobId: `${prefix}${id}`,
        image: 'busybox:1.36', command: ['sh', '-c', 'echo "worker started on port $PORT"; exec httpd -f -p "$PORT"'],
        cpu: 0.1, memoryGiB: 0.125, storageGiB: 0.25, minReplicas: 0, maxReplicas: 3, terminationGracePeriodSeconds: 5, healthCheckPath: undefined,
        ...overrides,
      });
    }

    /** Waits until the deployment has `count` replicas of `revisionId`, running or reporting why they cannot. */
    function settled(s: JobSpec, count: number, revisionId = s.revisionId): Promise<ReplicaStatus[]> {
      const ok = (r: ReplicaStatus) =>
        r.revisionId === revisionId && (agent.canRun ? r.state === 'Running' : r.state === 'Waiting' && r.reason === 'Unschedulable');
      return waitForReplicas(agent.scheduler, s.deploymentId, `${count} replicas of ${revisionId}`, (rs) => rs.length === count && rs.every(ok), agent.timeoutMs);
    }

    it('applies a spec: its replicas run, or each reports why it cannot be placed', async () => {
      const s = spec({ replicas: 1 });
      await agent.scheduler.apply(s);
      const [replica] = await settled(s, 1);
      if (agent.canRun) expect(replica).toMatchObject({ state: 'Running', image: 'busybox:1.36', address: { port: expect.any(Number) } });
      else expect(replica!.message).toMatch(/cannot be placed.*missing drivers/);
      const secret = await agent.kv.read(`${NAMESPACE}/${s.jobId}/env`);
      expect(secret?.data.TOGETHER_API_KEY).toBe(agent.tokens.issued.at(-1)!.token);
    });

    it('updates to a new revision', async () => {
      const s = spec({ replicas: 1 });
      await agent.scheduler.apply(s);
      await settled(s, 1);
      await agent.scheduler.apply({ ...s, revisionId: 'rev-2', env: { ...s.env, MODE: 'second' } });
      await settled(s, 1, 'rev-2');
      expect((await agent.client.jobs.info(s.jobId!)).data.Meta).toMatchObject({ gantry_revision: 'rev-2' });
    });

    it('scales up and down to zero', async () => {
      const s = spec({ replicas: 1 });
      await agent.scheduler.apply(s);
      await settled(s, 1);
      await agent.scheduler.scale(s.deploymentId, 2);
      await settled(s, 2);
      await agent.scheduler.scale(s.deploymentId, 0);
      await waitForReplicas(agent.scheduler, s.deploymentId, 'no replica', (rs) => rs.length === 0, agent.timeoutMs);
      expect((await agent.client.jobs.info(s.jobId!)).data.TaskGroups[0]!.Count).toBe(0);
    });

    it('streams the replicas’ logs (none while nothing could be placed)', async () => {
      const s = spec({ replicas: 1 });
      await agent.scheduler.apply(s);
      await settled(s, 1);
      const lines = async () => {
        const all: string[] = [];
        for await (const batch of agent.scheduler.logs(s.deploymentId, {})) all.push(...batch.map((l) => l.line));
        return all;
      };
      if (agent.canRun) await waitFor('the start line', async () => (await lines()).some((l) => /^worker started on port \d+/.test(l)), agent.timeoutMs);
      else expect(await lines()).toEqual([]);
    });

    it('destroys: the job is purged, its secrets removed, its tokens revoked', async () => {
      const s = spec({ replicas: 1 });
      await agent.scheduler.apply(s);
      await settled(s, 1);
      await agent.scheduler.stop(s.deploymentId);
      applied.splice(applied.indexOf(s.deploymentId), 1);
      const gone = await agent.client.jobs.info(s.jobId!).then(() => false, (err: unknown) => isNomadError(err, 404));
      expect(gone).toBe(true);
      expect(await agent.kv.read(`${NAMESPACE}/${s.jobId}/env`)).toBeUndefined();
      expect(agent.tokens.revoked).toContain(s.deploymentId);
      expect(await agent.scheduler.replicas(s.deploymentId)).toEqual([]);
    });

    // Last: every test's deployment was destroyed after it, which must leave nothing in Nomad or Vault.
    it('leaves no job and no secret behind', async () => {
      expect(jobIds.length).toBeGreaterThanOrEqual(5);
      expect((await agent.client.jobs.list(prefix)).data.map((j) => j.ID)).toEqual([]);
      for (const jobId of jobIds) expect(await agent.kv.read(`${NAMESPACE}/${jobId}/env`)).toBeUndefined();
      expect((await agent.kv.list(`${NAMESPACE}/`)).filter((key) => key.startsWith(prefix))).toEqual([]);
    });
  });
}

if (REAL) {
  const address = REAL.replace(/\/+$/, '');
  describeAgent(`the Nomad agent at ${address}`, async () => connect(address, process.env.NOMAD_TOKEN, async () => undefined, 180_000));
} else {
  describeAgent('the Nomad double (docker driver)', () => doubleAgent(undefined));
  describeAgent('the Nomad double without the docker driver', () => doubleAgent(['exec']));
}

import { afterEach, describe, expect, it } from 'vitest';
import { waitFor, waitForReason, waitForReplicas, workerSpec } from '../../../contracts/scheduler-support.js';
import { createNomadRig, testVolumeFiles, type NomadTestRig } from '../../../helpers/nomad-scheduler.js';
import { UnsupportedSpecError, type LogLine, type ReplicaExit } from '../../../../src/scheduler/scheduler.js';
import { createLogger } from '../../../../src/shared/logger.js';
import { GpuCatalog } from '../../../../src/deployments/gpu-catalog.js';
import { NomadScheduler } from '../../../../src/scheduler/nomad/nomad-scheduler.js';
import { DEFAULT_CLUSTER_SETTINGS } from '../../../../src/scheduler/nomad/settings.js';
import { systemClock } from '../../../../src/shared/clock.js';

const rigs: NomadTestRig[] = [];
async function rig(...args: Parameters<typeof createNomadRig>): Promise<NomadTestRig> {
  const r = await createNomadRig(...args);
  rigs.push(r);
  return r;
}
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});

const spec = (overrides: Parameters<typeof workerSpec>[0] = {}) =>
  workerSpec({ source: undefined, deploymentId: 'dep_chat', deploymentName: 'chat', jobId: 'gantry-chat', minReplicas: 0, maxReplicas: 5, ...overrides });

describe('NomadScheduler.apply', () => {
  it('writes the secret environment with a deployment worker token to Vault before registering, never into the job', async () => {
    const r = await rig();
    await r.scheduler.apply(spec({ secretEnv: { HF_TOKEN: 'hf_secret_value' } }));
    expect(r.secrets.entries.get('secret/data/default/gantry-chat/env')).toEqual({ HF_TOKEN: 'hf_secret_value', TOGETHER_API_KEY: r.tokens.issued[0]!.token });
    const sent = JSON.stringify(r.nomad.registered);
    for (const value of r.secrets.values()) expect(sent).not.toContain(value);
    expect(r.nomad.registered[0]).toMatchObject({ EnforceIndex: true, JobModifyIndex: 0, PreserveCounts: false });
  });

  it('issues no new token when the same revision is applied again, and a new one for a new revision', async () => {
    const r = await rig();
    await r.scheduler.apply(spec());
    await r.scheduler.apply(spec({ replicas: 2 }));
    expect(r.tokens.issued).toHaveLength(1);
    await r.scheduler.apply(spec({ revisionId: 'rev-2' }));
    expect(r.tokens.issued).toHaveLength(2);
  });

  it('registers with PreserveCounts and the read JobModifyIndex, then applies the spec’s count', async () => {
    const r = await rig();
    await r.scheduler.apply(spec({ replicas: 1 }));
    await waitForReplicas(r.scheduler, spec().deploymentId, 'one ready', (rs) => rs.some((x) => x.readySince));
    const index = r.nomad.cluster.getJob('default', 'gantry-chat')!.job.JobModifyIndex;
    await r.scheduler.apply(spec({ replicas: 3, revisionId: 'rev-2' }));
    expect(r.nomad.registered[1]).toMatchObject({ EnforceIndex: true, JobModifyIndex: index, PreserveCounts: true });
    expect(r.nomad.cluster.getJob('default', 'gantry-chat')!.job.TaskGroups[0]!.Count).toBe(3);
  });

  it('re-reads and retries when another writer changed the job in between (EnforceIndex conflict)', async () => {
    const r = await rig();
    await r.scheduler.apply(spec());
    const original = r.nomad.cluster.onPlaced;
    let raced = false;
    // Another control-plane replica registers right after our read: the first register conflicts.
    const job = r.nomad.cluster.getJob('default', 'gantry-chat')!.job;
    const realInfo = r.client.jobs.info.bind(r.client.jobs);
    r.client.jobs.info = async (id, q) => {
      const answer = await realInfo(id, q);
      if (!raced) {
        raced = true;
        r.nomad.cluster.upsertJob({ ...job, Meta: { ...job.Meta, other: 'writer' } }, 'job-register');
      }
      return answer;
    };
    await r.scheduler.apply(spec({ revisionId: 'rev-2' }));
    r.nomad.cluster.onPlaced = original;
    expect(r.nomad.cluster.getJob('default', 'gantry-chat')!.job.Meta.gantry_revision).toBe('rev-2');
  });

  it('warns when the Nomad client’s max_kill_timeout is below the grace period, and not otherwise', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void lines.push(line) } });
    const r = await rig({ maxKillTimeout: '30s' }, {}, logger);
    await r.scheduler.apply(spec({ terminationGracePeriodSeconds: 20 }));
    expect(lines.filter((l) => l.includes('max_kill_timeout'))).toHaveLength(0);
    await r.scheduler.apply(spec({ terminationGracePeriodSeconds: 300, revisionId: 'rev-2' }));
    const warning = JSON.parse(lines.find((l) => l.includes('max_kill_timeout'))!) as Record<string, unknown>;
    expect(warning).toMatchObject({ gracePeriodSeconds: 300, maxKillTimeoutSeconds: 30 });
  });

  it('leaves no secrets or token behind when Nomad refuses to create the job, and says why', async () => {
    const r = await rig({ vaultEnabled: false });
    await expect(r.scheduler.apply(spec())).rejects.toThrow(new UnsupportedSpecError('Nomad refused job gantry-chat: Vault "default" not enabled but used in the job'));
    expect(r.secrets.entries.size).toBe(0);
    expect(r.tokens.revoked).toEqual(['dep_chat']);
  });

  it('refuses a gpu_type outside the catalog', async () => {
    const r = await rig();
    await expect(r.scheduler.apply(spec({ gpuType: 'tpu-v5' }))).rejects.toThrow(/GPU catalog/);
  });
});

describe('NomadScheduler.scale', () => {
  it('falls back to re-registering with the new count while a deployment is active, without waiting', async () => {
    const r = await rig({ autoRun: false });
    await r.scheduler.apply(spec({ replicas: 1 }));
    await r.scheduler.scale(spec().deploymentId, 2);
    expect(r.nomad.cluster.getJob('default', 'gantry-chat')!.job.TaskGroups[0]!.Count).toBe(2);
    expect(r.nomad.registered).toHaveLength(2);
    expect(r.nomad.registered[1]).toMatchObject({ PreserveCounts: false, EnforceIndex: true });
  });

  it('uses /scale once the deployment is over', async () => {
    const r = await rig();
    await r.scheduler.apply(spec({ replicas: 1 }));
    await waitForReplicas(r.scheduler, spec().deploymentId, 'ready', (rs) => rs.some((x) => x.readySince));
    await r.scheduler.scale(spec().deploymentId, 2);
    expect(r.nomad.registered).toHaveLength(1);
    expect(r.nomad.live('gantry-chat')).toHaveLength(2);
  });
});

describe('NomadScheduler.replicas', () => {
  it('reports an allocation that restarted 3 times as CrashLoopBackOff with the exit in its message', async () => {
    const r = await rig();
    await r.scheduler.apply(spec());
    const [replica] = await waitForReplicas(r.scheduler, spec().deploymentId, 'ready', (rs) => rs.some((x) => x.readySince));
    for (let i = 0; i < 3; i++) r.nomad.restart(replica!.replicaId, 2);
    const [looping] = await waitForReason(r.scheduler, spec().deploymentId, 'CrashLoopBackOff');
    expect(looping).toMatchObject({ restarts: 3, readySince: undefined, message: expect.stringContaining('exit code 2') });
  });

  it('surfaces an unplaceable group with Nomad’s reason instead of waiting forever', async () => {
    const r = await rig();
    await r.scheduler.apply(spec({ gpuType: 'b200-192gb', gpuCount: 1, replicas: 2 }));
    const replicas = await r.scheduler.replicas(spec().deploymentId);
    expect(replicas).toHaveLength(2);
    expect(replicas[0]).toMatchObject({ state: 'Waiting', reason: 'Unschedulable', message: expect.stringContaining('missing devices') });
  });

  it('places H100 replicas and reports their address, revision and image', async () => {
    const r = await rig();
    await r.scheduler.apply(spec({ gpuType: 'h100-80gb', gpuCount: 2 }));
    const [replica] = await waitForReplicas(r.scheduler, spec().deploymentId, 'ready', (rs) => rs.some((x) => x.readySince));
    expect(replica).toMatchObject({ state: 'Running', revisionId: 'rev-00000001', image: 'registry.example/fixture:1', address: { host: '10.0.0.11' } });
  });

  it('lists nothing for a deployment Nomad has no job of', async () => {
    const r = await rig();
    expect(await r.scheduler.replicas('dep_unknown')).toEqual([]);
    expect(await r.scheduler.scaleDownOrder('dep_unknown')).toEqual([]);
  });
});

describe('NomadScheduler.stop', () => {
  it('purges the job, reports each replica once, removes the workload secrets and revokes the tokens', async () => {
    const r = await rig();
    const exits: ReplicaExit[] = [];
    r.scheduler.onReplicaExit((e) => exits.push(e));
    await r.scheduler.apply(spec({ replicas: 2 }));
    await waitForReplicas(r.scheduler, spec().deploymentId, 'ready', (rs) => rs.filter((x) => x.readySince).length === 2);
    await r.scheduler.stop(spec().deploymentId);
    expect(r.nomad.cluster.getJob('default', 'gantry-chat')).toBeUndefined();
    expect(r.secrets.entries.size).toBe(0);
    expect(r.tokens.revoked).toEqual([spec().deploymentId]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(exits).toHaveLength(2);
  });
});

describe('NomadScheduler.onReplicaExit', () => {
  it('reports exits of a job another control-plane replica registered', async () => {
    const r = await rig();
    const other = new NomadScheduler({
      client: r.client, settings: DEFAULT_CLUSTER_SETTINGS, gpus: new GpuCatalog(), secrets: r.secrets, tokens: r.tokens,
      volumes: testVolumeFiles, clock: systemClock, logger: createLogger({ level: 'silent' }), watchWaitMs: 5000,
    });
    await other.start();
    try {
      const exits: ReplicaExit[] = [];
      other.onReplicaExit((e) => exits.push(e));
      await r.scheduler.apply(spec());
      const [replica] = await waitForReplicas(other, 'dep_chat', 'ready', (rs) => rs.some((x) => x.readySince));
      r.nomad.fail(replica!.replicaId, 3);
      const [exit] = await waitFor('the exit', () => (exits.length > 0 ? exits : undefined), 15_000);
      expect(exit).toMatchObject({ deploymentId: 'dep_chat', replicaId: replica!.replicaId, code: 3 });
    } finally {
      await other.close();
    }
  });
});

describe('NomadScheduler.logs', () => {
  it('decodes both streams and reassembles lines split across frames', async () => {
    const r = await rig();
    await r.scheduler.apply(spec());
    const [replica] = await waitForReplicas(r.scheduler, spec().deploymentId, 'ready', (rs) => rs.some((x) => x.readySince));
    const id = replica!.replicaId;
    r.nomad.log(id, 'stdout', 'half a ');
    r.nomad.log(id, 'stdout', 'line ✓\n');
    r.nomad.log(id, 'stderr', 'a warning\n');
    const lines: LogLine[] = [];
    for await (const batch of r.scheduler.logs(spec().deploymentId, {})) lines.push(...batch);
    expect(lines.map((l) => l.line).sort()).toEqual(['a warning', 'half a line ✓', 'worker started on port 8000']);
  });

  it('ends a followed stream when the allocation ends', async () => {
    const r = await rig();
    await r.scheduler.apply(spec());
    const [replica] = await waitForReplicas(r.scheduler, spec().deploymentId, 'ready', (rs) => rs.some((x) => x.readySince));
    const lines: LogLine[] = [];
    const following = (async () => {
      for await (const batch of r.scheduler.logs(spec().deploymentId, { follow: true })) lines.push(...batch);
    })();
    await waitFor('the start line', () => lines.length > 0);
    r.nomad.fail(replica!.replicaId);
    await following;
    expect(lines[0]!.line).toBe('worker started on port 8000');
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { NomadScheduler } from '../../../../src/scheduler/nomad/nomad-scheduler.js';
import { GpuCatalog } from '../../../../src/deployments/gpu-catalog.js';
import { DEFAULT_CLUSTER_SETTINGS } from '../../../../src/scheduler/nomad/settings.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { createLogger } from '../../../../src/shared/logger.js';
import { waitFor, waitForReplicas, workerSpec } from '../../../contracts/scheduler-support.js';
import { createNomadRig, testVolumeFiles, type NomadTestRig } from '../../../helpers/nomad-scheduler.js';

const rigs: NomadTestRig[] = [];
const closers: Array<() => Promise<void>> = [];
async function rig(...args: Parameters<typeof createNomadRig>): Promise<NomadTestRig> {
  const r = await createNomadRig(...args);
  rigs.push(r);
  return r;
}
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const r of rigs.splice(0)) await r.close();
});

const DEP = 'dep_chat';
const spec = (overrides: Parameters<typeof workerSpec>[0] = {}) =>
  workerSpec({ source: undefined, deploymentId: DEP, deploymentName: 'chat', jobId: 'gantry-chat', minReplicas: 0, maxReplicas: 5, ...overrides });
const ready = (r: NomadTestRig, count: number, revisionId: string) =>
  waitForReplicas(r.scheduler, DEP, `${count} ready of ${revisionId}`, (rs) => rs.filter((x) => x.readySince && x.revisionId === revisionId).length === count);
/** Lets pokes from the allocation watch run, then waits for the sweeps they started. */
const quiet = async () => new Promise((resolve) => setTimeout(resolve, 300));

describe('worker tokens of a Nomad deployment’s old revisions', () => {
  it('are revoked once the last allocation of the revision is terminal, not while one still drains', async () => {
    const r = await rig({ gracefulStops: true });
    await r.scheduler.apply(spec({ replicas: 2 }));
    await ready(r, 2, 'rev-00000001');
    const old = r.nomad.live('gantry-chat').map((a) => a.ID);
    await r.scheduler.apply(spec({ replicas: 2, revisionId: 'rev-2', image: 'registry.example/fixture:2' }));
    await ready(r, 2, 'rev-2');
    await quiet();
    // Both old allocations were asked to stop and still run (finishing their jobs with the old token).
    expect(old.map((id) => r.nomad.cluster.allocs.get(id)!.ClientStatus)).toEqual(['running', 'running']);
    expect(r.tokens.liveRevisions(DEP).sort()).toEqual(['rev-00000001', 'rev-2']);
    r.nomad.finishStop(old[0]!);
    await quiet();
    expect(r.tokens.liveRevisions(DEP).sort()).toEqual(['rev-00000001', 'rev-2']);
    r.nomad.finishStop(old[1]!);
    await waitFor('the old revision revoked', () => r.tokens.liveRevisions(DEP).length === 1);
    expect(r.tokens.liveRevisions(DEP)).toEqual(['rev-2']);
    expect(r.tokens.revokedRevisions).toEqual([{ deploymentId: DEP, revisionId: 'rev-00000001' }]);
    expect(r.tokens.revoked).toEqual([]);
  });

  it('are revoked at the next apply when the old revision has no allocation at all', async () => {
    const r = await rig();
    await r.scheduler.apply(spec({ replicas: 0 }));
    await r.scheduler.apply(spec({ replicas: 0, revisionId: 'rev-2' }));
    await waitFor('the old revision revoked', () => r.tokens.liveRevisions(DEP).length === 1);
    expect(r.tokens.liveRevisions(DEP)).toEqual(['rev-2']);
  });

  it('keep the token issued last while Nomad runs an older revision’s job version (an auto-revert)', async () => {
    const r = await rig();
    await r.scheduler.apply(spec({ replicas: 1 }));
    await ready(r, 1, 'rev-00000001');
    const first = r.nomad.cluster.getJob('default', 'gantry-chat')!.job;
    await r.scheduler.apply(spec({ replicas: 1, revisionId: 'rev-2', image: 'registry.example/fixture:2' }));
    await ready(r, 1, 'rev-2');
    await waitFor('rev-1 revoked', () => r.tokens.liveRevisions(DEP).length === 1);
    await r.scheduler.apply(spec({ replicas: 1, revisionId: 'rev-3', image: 'registry.example/fixture:3' }));
    await ready(r, 1, 'rev-3');
    // The rollout of rev-3 fails and Nomad registers rev-1's spec again: its new allocations render the
    // token in Vault, rev-3's, so that one must stay; rev-2's has nothing left.
    r.nomad.cluster.upsertJob({ ...first, Version: undefined, JobModifyIndex: undefined }, 'job-register');
    await ready(r, 1, 'rev-00000001');
    await waitFor('rev-2 revoked', () => !r.tokens.liveRevisions(DEP).includes('rev-2'));
    await quiet();
    expect(r.tokens.liveRevisions(DEP)).toEqual(['rev-3']);
    expect(r.secrets.entries.get('secret/data/default/gantry-chat/env')!.TOGETHER_API_KEY).toBe(r.tokens.issued.at(-1)!.token);
  });

  it('are swept when the scheduler starts, for allocations that ended while it was down', async () => {
    const r = await rig({ gracefulStops: true });
    await r.scheduler.apply(spec({ replicas: 1 }));
    await ready(r, 1, 'rev-00000001');
    const [old] = r.nomad.live('gantry-chat');
    await r.scheduler.apply(spec({ replicas: 1, revisionId: 'rev-2', image: 'registry.example/fixture:2' }));
    await ready(r, 1, 'rev-2');
    await r.scheduler.close();
    r.nomad.finishStop(old!.ID);
    const restarted = new NomadScheduler({
      client: r.client, settings: DEFAULT_CLUSTER_SETTINGS, gpus: new GpuCatalog(), secrets: r.secrets, tokens: r.tokens,
      volumes: testVolumeFiles, clock: systemClock, logger: createLogger({ level: 'silent' }), watchWaitMs: 5000,
    });
    closers.push(() => restarted.close());
    await restarted.start();
    await waitFor('the old revision revoked after the restart', () => r.tokens.liveRevisions(DEP).length === 1);
    expect(r.tokens.liveRevisions(DEP)).toEqual(['rev-2']);
  });
});

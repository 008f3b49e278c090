import { describe, expect, it } from 'vitest';
import type { DeploymentsApi } from '../../../cli/src/api/deployments.js';
import type { Deployment, ReplicaEvent } from '../../../cli/src/api/types.js';
import { trackDeployment, type TrackTiming } from '../../../cli/src/deploy/track.js';
import type { JigError } from '../../../cli/src/errors.js';
import type { Output } from '../../../cli/src/output.js';

/** A deployments API that answers a scripted sequence of GETs, and logs per replica. */
class ScriptedDeployments {
  readonly logCalls: Array<string | undefined> = [];
  constructor(private readonly script: Array<Record<string, ReplicaEvent>>) {}
  async get(): Promise<Deployment> {
    const events = this.script.length > 1 ? this.script.shift()! : this.script[0]!;
    return { name: 'demo', status: 'Updating', replica_events: events };
  }
  async logs(_name: string, replicaId?: string): Promise<{ lines: string[] }> {
    this.logCalls.push(replicaId);
    return { lines: ['Traceback: boom'] };
  }
}

function recorder(): Output & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(l), err: (l) => lines.push(l), isTty: false };
}

/** A clock that advances by each sleep, so tracking runs in no real time. */
function fakeTiming(): TrackTiming {
  let t = 0;
  return { pollMs: 3000, timeoutMs: 600_000, readyTimeoutMs: 120_000, now: () => t, sleep: async (ms) => void (t += ms) };
}

const first: Deployment = {
  name: 'demo',
  status: 'Updating',
  min_replicas: 1,
  desired_replicas: 1,
  environment_variables: [{ name: 'TOGETHER_DEPLOYMENT_REVISION_ID', value: 'rev-2' }],
};
const spinner = { text: () => undefined, stop: () => undefined };

async function track(script: Array<Record<string, ReplicaEvent>>, start = first): Promise<{ out: string[]; api: ScriptedDeployments; error?: JigError }> {
  const api = new ScriptedDeployments(script);
  const out = recorder();
  try {
    await trackDeployment(api as unknown as DeploymentsApi, start, out, spinner, fakeTiming());
    return { out: out.lines, api };
  } catch (err) {
    return { out: out.lines, api, error: err as JigError };
  }
}

describe('trackDeployment', () => {
  it('succeeds when a replica of the new revision is running and ready, ignoring older revisions', async () => {
    const { out, error } = await track([
      { old: { revision_id: 'rev-1', replica_status: 'Running', replica_ready_since: '2026-01-01T00:00:00Z' } },
      { r1: { revision_id: 'rev-2', replica_status: 'Waiting', replica_status_reason: 'ContainerCreating', replica_status_message: 'preparing venv' } },
      { r1: { revision_id: 'rev-2', replica_status: 'Running', replica_ready_since: '2026-01-01T00:01:00Z' } },
    ]);
    expect(error).toBeUndefined();
    expect(out).toEqual([
      '\u23f3 Deployment in-progress...',
      '\u23f3 [r1] Waiting: ContainerCreating\n  preparing venv',
      '\u2713 [r1] Container is running and ready',
      '\u{1F680} Deployment successful!',
      'Note: Additional replicas may still be scaling up.',
    ]);
  });

  it('fails with the replica logs when it crash loops', async () => {
    const { out, api, error } = await track([{ r1: { revision_id: 'rev-2', replica_status: 'Waiting', replica_status_reason: 'CrashLoopBackOff' } }]);
    expect(error?.exitCode).toBe(1);
    expect(api.logCalls).toEqual(['r1']);
    expect(out).toContain('\u2717 [r1] Container is crash looping');
    expect(out.slice(-3)).toEqual(['--- Logs for r1 ---', 'Traceback: boom', '--- End of logs ---']);
  });

  it('announces volume preloading once, and its end once', async () => {
    const loading = { revision_id: 'rev-2', replica_status: 'Waiting', volume_preload_status: 'InProgress' };
    const loaded = { ...loading, volume_preload_status: 'Completed', volume_preload_completed_at: '2026-01-01T00:00:00Z' };
    const { out } = await track([{ r1: loading }, { r1: loading }, { r1: loaded }, { r1: loaded }, { r1: { revision_id: 'rev-2', replica_status: 'Running', replica_ready_since: 'x' } }]);
    expect(out.filter((l) => l.includes('Preloading'))).toHaveLength(1);
    expect(out.filter((l) => l.includes('Successfully preloaded'))).toHaveLength(1);
  });

  it('gives up on a replica running but not ready after 120 s', async () => {
    const { out, error } = await track([{ r1: { revision_id: 'rev-2', replica_status: 'Running' } }]);
    expect(error?.exitCode).toBe(1);
    expect(out).toContain('\u2717 [r1] Running but not ready after 120s');
  });

  it('times out after 10 minutes without news', async () => {
    const { out, error } = await track([{}]);
    expect(error?.exitCode).toBe(1);
    expect(out.slice(-3)).toEqual([
      '\u2717 Deployment tracking timed out after 10 minutes',
      "Deployment 'demo' may still be in progress.",
      "Run 'jig status' to check current state.",
    ]);
  });

  it('stops at once for a deployment scaled to zero', async () => {
    const { out } = await track([{}], { ...first, min_replicas: 0, desired_replicas: 0, status: 'ScaledToZero' });
    expect(out).toEqual(['\u2713 Deployment scaled to zero replicas']);
  });

  it('fails clearly when the server stamped no revision', async () => {
    const { error } = await track([{}], { ...first, environment_variables: [] });
    expect(error?.message).toContain('TOGETHER_DEPLOYMENT_REVISION_ID');
  });
});

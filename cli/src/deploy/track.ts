import type { DeploymentsApi } from '../api/deployments.js';
import type { Deployment, ReplicaEvent } from '../api/types.js';
import { JigError } from '../errors.js';
import { glyph, type Output, type Spinner } from '../output.js';

/** Timing of deploy tracking (compat.md §6): poll 3 s, give up after 600 s, 120 s to get ready. */
export interface TrackTiming {
  pollMs: number;
  timeoutMs: number;
  readyTimeoutMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_TIMING: TrackTiming = {
  pollMs: 3000,
  timeoutMs: 600_000,
  readyTimeoutMs: 120_000,
  now: Date.now,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** Thrown when tracking ends without success; `main` prints nothing more (the lines are out). */
const quietFailure = (code = 1): JigError => new JigError('', code);

/** The revision the server stamped on this deployment (platform-injected env, compat.md §8.23). */
export function revisionOf(deployment: Deployment): string {
  const entry = deployment.environment_variables?.find((v) => v.name === 'TOGETHER_DEPLOYMENT_REVISION_ID');
  if (!entry?.value) throw new JigError('The deployment carries no TOGETHER_DEPLOYMENT_REVISION_ID: cannot track it');
  return entry.value;
}

/**
 * Follows a deploy until a replica of the new revision is running and ready (compat.md §1.5 step 8):
 * prints each replica's news once, shows the logs of a crash-looping or never-ready replica.
 */
export async function trackDeployment(api: DeploymentsApi, first: Deployment, out: Output, spinner: Spinner, timing = DEFAULT_TIMING): Promise<void> {
  const name = first.name!;
  const revision = revisionOf(first);
  if (first.min_replicas === 0 && first.desired_replicas === 0 && first.status === 'ScaledToZero') {
    return out.out(`${glyph.check} Deployment scaled to zero replicas`);
  }
  out.out(`${glyph.hourglass} Deployment in-progress...`);
  const seen = new Set<string>();
  const runningSince = new Map<string, number>();
  const deadline = timing.now() + timing.timeoutMs;
  while (timing.now() < deadline) {
    const deployment = await api.get(name);
    for (const [rid, event] of Object.entries(deployment.replica_events ?? {})) {
      if (event.revision_id !== revision) continue;
      const done = await judge({ api, name, rid, event, out, spinner, seen, runningSince, timing });
      if (done) return;
    }
    spinner.text(`Waiting for ${name} (${deployment.status ?? 'unknown'})`);
    await timing.sleep(timing.pollMs);
  }
  spinner.stop();
  out.out(`${glyph.cross} Deployment tracking timed out after 10 minutes`);
  stillInProgress(out, name);
  throw quietFailure();
}

interface Judged {
  api: DeploymentsApi;
  name: string;
  rid: string;
  event: ReplicaEvent;
  out: Output;
  spinner: Spinner;
  seen: Set<string>;
  runningSince: Map<string, number>;
  timing: TrackTiming;
}

/** One replica's event: true when the deploy succeeded; throws when it failed. */
async function judge(j: Judged): Promise<boolean> {
  const { event, rid, out } = j;
  if (event.replica_status === 'Running' && event.replica_ready_since) {
    j.spinner.stop();
    out.out(`${glyph.check} [${rid}] Container is running and ready`);
    out.out(`${glyph.rocket} Deployment successful!`);
    out.out('Note: Additional replicas may still be scaling up.');
    return true;
  }
  if (event.replica_status_reason === 'CrashLoopBackOff') {
    j.spinner.stop();
    out.out(`${glyph.cross} [${rid}] Container is crash looping`);
    await printReplicaLogs(j.api, j.name, rid, out);
    throw quietFailure();
  }
  announce(j);
  if (event.replica_status === 'Running') await checkReadyTimeout(j);
  return false;
}

function announce({ event, rid, out, seen }: Judged): void {
  const once = (key: string, line: string): void => {
    if (!seen.has(key)) out.out(line);
    seen.add(key);
  };
  if (event.volume_preload_status && !event.volume_preload_completed_at) once(`${rid}:preload`, `${glyph.package} [${rid}] Preloading volume contents...`);
  if (event.volume_preload_completed_at) {
    once(`${rid}:preloaded`, `${glyph.check} [${rid}] Successfully preloaded volume contents. Attaching the volume to the container...`);
  }
  if (event.replica_status_reason) {
    const message = event.replica_status_message ? `\n  ${event.replica_status_message}` : '';
    once(`${rid}:${event.replica_status}:${event.replica_status_reason}`, `${glyph.hourglass} [${rid}] ${event.replica_status}: ${event.replica_status_reason}${message}`);
  }
}

async function checkReadyTimeout(j: Judged): Promise<void> {
  const since = j.runningSince.get(j.rid) ?? j.timing.now();
  j.runningSince.set(j.rid, since);
  if (j.timing.now() - since <= j.timing.readyTimeoutMs) return;
  j.spinner.stop();
  j.out.out(`Deployment '${j.name}' may still be in progress.`);
  j.out.out(`${glyph.cross} [${j.rid}] Running but not ready after ${Math.round(j.timing.readyTimeoutMs / 1000)}s`);
  await printReplicaLogs(j.api, j.name, j.rid, j.out);
  throw quietFailure();
}

export function stillInProgress(out: Output, name: string): void {
  out.out(`Deployment '${name}' may still be in progress.`);
  out.out("Run 'jig status' to check current state.");
}

async function printReplicaLogs(api: DeploymentsApi, name: string, rid: string, out: Output): Promise<void> {
  const { lines } = await api.logs(name, rid);
  out.out(`--- Logs for ${rid} ---`);
  out.out((lines ?? []).join('\n'));
  out.out('--- End of logs ---');
}

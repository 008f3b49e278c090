import type { ReplicaContext } from './context.js';
import { LocalDeployment } from './deployment.js';
import { adoptProcess, type ProcessHandle } from './process-handle.js';
import type { ReplicaRecord } from './state-files.js';

interface Found {
  record: ReplicaRecord;
  handle: ProcessHandle | undefined;
}

/**
 * Rebuilds the scheduler's deployments from disk after a server restart (graceful or kill -9).
 *
 * Replicas keep running without the server (own process group, output straight to their file). A
 * recorded process that is still alive (same pid AND same /proc start time) is adopted and watched by
 * polling; a dead one is restarted when its deployment still wants it. Replicas of deployments that no
 * longer exist (a server that died in the middle of stop) are killed. Desired counts come from the
 * deployment files, so a count of zero, or replicas that had all died, survive too. Nothing is started
 * twice: each replica id is either adopted, restarted once, or forgotten.
 */
export function restoreFromDisk(ctx: ReplicaContext): Map<string, LocalDeployment> {
  const records = ctx.files.readDeployments();
  const deployments = new Map(records.map((r) => [r.spec.deploymentId, new LocalDeployment(ctx, r)]));
  const found = groupByDeployment(ctx.files.readReplicas().map((record) => ({ record, handle: adopt(record, ctx) })));
  const forgotten: ReplicaRecord[] = [];
  for (const [deploymentId, deployment] of deployments) {
    forgotten.push(...deployment.restore(found.get(deploymentId) ?? []));
  }
  for (const [deploymentId, orphans] of found) {
    if (deployments.has(deploymentId)) continue;
    for (const orphan of orphans) orphan.handle?.signal('SIGKILL');
    forgotten.push(...orphans.map((o) => o.record));
  }
  for (const record of forgotten) forget(record, ctx);
  return deployments;
}

function adopt(record: ReplicaRecord, ctx: ReplicaContext): ProcessHandle | undefined {
  if (record.pid === undefined || record.pidStartTime === undefined) return undefined;
  return adoptProcess(record.pid, record.pidStartTime, ctx.options.healthIntervalMs);
}

function forget(record: ReplicaRecord, ctx: ReplicaContext): void {
  ctx.files.removeReplica(record.replicaId);
  // Its token was issued by the previous server and may still be valid.
  ctx.tokens.revoke(record.deploymentId, record.replicaId).catch((err: unknown) => {
    ctx.logger.warn({ err, replicaId: record.replicaId }, 'could not revoke the token of a forgotten replica');
  });
  ctx.logger.info({ replicaId: record.replicaId }, 'forgot a replica found on disk');
}

function groupByDeployment(found: Found[]): Map<string, Found[]> {
  const groups = new Map<string, Found[]>();
  for (const f of found) groups.set(f.record.deploymentId, [...(groups.get(f.record.deploymentId) ?? []), f]);
  return groups;
}

import type { ReplicaStatus, Scheduler } from '../scheduler/scheduler.js';
import type { DeploymentRecord } from './types.js';

export interface LogQuery {
  replica_id?: string;
  /** Only replicas of this revision id. */
  revision?: string;
  /** Only replicas whose image tag is this, or whose digest ends with these characters. */
  version?: string;
  follow: boolean;
  signal?: AbortSignal;
}

/**
 * A deployment's log lines in batches, filtered as the API allows and prefixed with the replica id when
 * more than one replica is involved (compat.md §8.18).
 */
export async function formatLogs(scheduler: Scheduler, record: DeploymentRecord, query: LogQuery): Promise<AsyncIterable<string[]>> {
  const replicas = (await scheduler.replicas(record.id)).filter((r) => matches(r, query));
  const allowed = new Set(replicas.map((r) => r.replicaId));
  const filtered = query.revision !== undefined || query.version !== undefined;
  const prefix = replicas.length > 1;
  const source = scheduler.logs(record.id, {
    ...(query.replica_id ? { replicaId: query.replica_id } : {}),
    follow: query.follow,
    ...(query.signal ? { signal: query.signal } : {}),
  });
  return (async function* () {
    for await (const batch of source) {
      const kept = filtered ? batch.filter((l) => allowed.has(l.replicaId)) : batch;
      if (kept.length > 0) yield kept.map((l) => (prefix ? `[${l.replicaId}] ${l.line}` : l.line));
    }
  })();
}

function matches(replica: ReplicaStatus, query: LogQuery): boolean {
  if (query.replica_id && replica.replicaId !== query.replica_id) return false;
  if (query.revision && replica.revisionId !== query.revision) return false;
  if (query.version && !imageMatches(replica.image, query.version)) return false;
  return true;
}

function imageMatches(image: string, version: string): boolean {
  const digest = /@sha256:([0-9a-f]+)$/.exec(image)?.[1];
  if (digest) return digest.endsWith(version);
  const tag = /:([^/:]+)$/.exec(image)?.[1] ?? 'latest';
  return tag === version;
}

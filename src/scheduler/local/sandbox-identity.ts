import { chmodSync, chownSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../../shared/ids.js';

/**
 * Who a local replica runs as when the server runs as root: never root. Each deployment gets its own uid
 * from the operator's range (GANTRY_SANDBOX_UIDS, `first-last`); every replica's group is `first`, the
 * one group that may read what Gantry hands replicas from its data directory (virtualenvs, volumes).
 * The uid is derived from the deployment id, so it is the same after a server restart without being
 * stored; two deployments may rarely share one, and are kept apart by their namespaces regardless.
 */
export interface ReplicaIdentity {
  uid: number;
  gid: number;
}

export function replicaIdentity(deploymentId: string, range: readonly [number, number]): ReplicaIdentity {
  const [first, last] = range;
  if (last === first) return { uid: first, gid: first };
  const span = last - first;
  const offset = Number.parseInt(sha256Hex(deploymentId).slice(0, 12), 16) % span;
  return { uid: first + 1 + offset, gid: first };
}

/**
 * Makes a tree Gantry made (a virtualenv, a volume version) readable by the replicas' group, and by
 * nobody else new: group set to `gid`, group read (and search/execute where the owner has it) added.
 * Symbolic links are left alone; entries already right are not written.
 */
export function shareWithGroup(root: string, gid: number): void {
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st || st.isSymbolicLink()) continue;
    if (st.gid !== gid) chownSync(p, st.uid, gid);
    const wanted = st.mode | groupBits(st.mode, st.isDirectory());
    if ((wanted & 0o7777) !== (st.mode & 0o7777)) chmodSync(p, wanted & 0o7777);
    if (st.isDirectory()) for (const name of readdirSync(p)) stack.push(path.join(p, name));
  }
}

function groupBits(mode: number, isDir: boolean): number {
  const ownerExec = (mode & 0o100) !== 0;
  return 0o040 | (isDir || ownerExec ? 0o010 : 0);
}

/**
 * Who made a request. User keys have full access (admins may also manage keys); worker tokens reach only
 * the worker routes and storage uploads of their own deployment (compat.md §8.21), and in the embedded
 * default they also name the one replica they were issued to, so a claim is tied to that replica (§8.2).
 */
export type Principal =
  | { kind: 'user'; keyId: string; name: string; role: 'admin' | 'user'; allowLocalSource?: boolean }
  | { kind: 'worker'; keyId: string; name: string; deploymentId: string; replicaId: string | undefined };

export type KeyRole = 'admin' | 'user' | 'worker';

/** What is stored per key: never the key itself, only its SHA-256. */
export interface KeyRecord {
  id: string;
  name: string;
  role: KeyRole;
  hash: string;
  created_at: string;
  deployment_id?: string;
  replica_id?: string;
  /** The revision a deployment-wide worker token was issued for (Nomad jobs: one token per revision). */
  revision_id?: string;
  /** A user key that may name any local project directory (`gantry keys create --allow-local-source`). */
  allow_local_source?: boolean;
}

/** A key as listed: everything but the hash. */
export type KeyInfo = Omit<KeyRecord, 'hash'>;

export function toPrincipal(record: KeyRecord): Principal {
  if (record.role === 'worker') {
    return {
      kind: 'worker',
      keyId: record.id,
      name: record.name,
      deploymentId: record.deployment_id ?? '',
      replicaId: record.replica_id,
    };
  }
  const principal: Principal = { kind: 'user', keyId: record.id, name: record.name, role: record.role };
  return record.allow_local_source ? { ...principal, allowLocalSource: true } : principal;
}

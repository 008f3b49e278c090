import { timingSafeEqual } from 'node:crypto';
import { isoTime, systemClock, type Clock } from '../shared/clock.js';
import { appError } from '../shared/errors.js';
import { randomToken, sha256Hex } from '../shared/ids.js';
import type { StateStore } from '../state/state-store.js';
import { toPrincipal, type KeyInfo, type KeyRecord, type KeyRole, type Principal } from './principal.js';

const PREFIX = 'auth/keys/';

/** Plain-text key prefixes, so leaked keys are recognisable by secret scanners. */
const KEY_PREFIX: Record<KeyRole, string> = { admin: 'gantry_', user: 'gantry_', worker: 'gantryw_' };

/**
 * API keys and worker tokens, stored hashed in the StateStore. A key's record lives at
 * `auth/keys/<id>`, where the id is the first 16 hex digits of the key's SHA-256: verification is one
 * read and a constant-time comparison of the full hash. Keys carry 256 bits of randomness, so a fast
 * hash is the right tool (no password stretching needed).
 */
export class KeyService {
  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Creates a user or admin key and returns its plain text, the only time it is ever available.
   * `allowLocalSource` lets a user key name any local project directory (x_gantry_source).
   */
  async createKey(name: string, role: 'admin' | 'user', options: { allowLocalSource?: boolean } = {}): Promise<{ key: string; info: KeyInfo }> {
    const flag = options.allowLocalSource && role === 'user' ? { allow_local_source: true } : {};
    return this.insert(KEY_PREFIX[role] + randomToken(32), { name, role, ...flag });
  }

  /** A token for one replica of one deployment (compat.md §8.14, §8.21). */
  async createWorkerToken(deploymentId: string, replicaId?: string, revisionId?: string): Promise<{ key: string; info: KeyInfo }> {
    const name = replicaId ? `worker:${deploymentId}/${replicaId}` : `worker:${deploymentId}${revisionId ? `@${revisionId}` : ''}`;
    return this.insert(KEY_PREFIX.worker + randomToken(32), {
      name,
      role: 'worker',
      deployment_id: deploymentId,
      ...(replicaId ? { replica_id: replicaId } : {}),
      ...(revisionId ? { revision_id: revisionId } : {}),
    });
  }

  /**
   * Registers an operator-chosen admin key (GANTRY_ADMIN_KEY); idempotent, also when several control-plane
   * replicas sharing one state store adopt the same key at the same moment (the loser of the insert finds
   * the winner's record).
   */
  async adoptAdminKey(key: string): Promise<KeyInfo> {
    const existing = await this.lookup(key);
    if (existing) return withoutHash(existing);
    try {
      return (await this.insert(key, { name: 'admin (GANTRY_ADMIN_KEY)', role: 'admin' })).info;
    } catch (err) {
      const adopted = await this.lookup(key);
      if (adopted) return withoutHash(adopted);
      throw err;
    }
  }

  async verify(key: string): Promise<Principal | undefined> {
    const record = await this.lookup(key);
    return record && toPrincipal(record);
  }

  async list(): Promise<KeyInfo[]> {
    const entries = await this.store.list(PREFIX);
    return entries.map((e) => withoutHash(JSON.parse(e.value) as KeyRecord));
  }

  async hasAdminKey(): Promise<boolean> {
    return (await this.list()).some((k) => k.role === 'admin');
  }

  /** Revokes by id or by name; a name shared by several keys must be given as an id. */
  async revoke(idOrName: string): Promise<KeyInfo> {
    const all = await this.list();
    const byId = all.find((k) => k.id === idOrName);
    const byName = all.filter((k) => k.name === idOrName);
    const target = byId ?? (byName.length === 1 ? byName[0] : undefined);
    if (!target) {
      const why = byName.length > 1 ? `${byName.length} keys are named "${idOrName}": give the id` : 'no such key';
      throw appError('GANTRY_ERR_KEY_NOT_FOUND', `cannot revoke key "${idOrName}": ${why}`);
    }
    await this.store.delete(PREFIX + target.id);
    return target;
  }

  /** Revokes every worker token of a deployment (or of one replica of it). Returns how many. */
  async revokeWorkerTokens(deploymentId: string, replicaId?: string): Promise<number> {
    const targets = (await this.list()).filter(
      (k) => k.role === 'worker' && k.deployment_id === deploymentId && (!replicaId || k.replica_id === replicaId),
    );
    for (const k of targets) await this.store.delete(PREFIX + k.id);
    return targets.length;
  }

  /** Revokes the deployment-wide worker tokens issued for one revision of a deployment. Returns how many. */
  async revokeRevisionTokens(deploymentId: string, revisionId: string): Promise<number> {
    const targets = (await this.list()).filter((k) => k.role === 'worker' && k.deployment_id === deploymentId && k.revision_id === revisionId);
    for (const k of targets) await this.store.delete(PREFIX + k.id);
    return targets.length;
  }

  private async insert(key: string, fields: Omit<KeyRecord, 'id' | 'hash' | 'created_at'>) {
    const hash = sha256Hex(key);
    const record: KeyRecord = { id: hash.slice(0, 16), hash, created_at: isoTime(this.clock.now()), ...fields };
    if (!(await this.store.cas(PREFIX + record.id, JSON.stringify(record), 0))) {
      throw appError('GANTRY_ERR_STATE_CONFLICT', 'a key with this id already exists; try again');
    }
    return { key, info: withoutHash(record) };
  }

  private async lookup(key: string): Promise<KeyRecord | undefined> {
    if (!key) return undefined;
    const hash = sha256Hex(key);
    const entry = await this.store.get(PREFIX + hash.slice(0, 16));
    if (!entry) return undefined;
    const record = JSON.parse(entry.value) as KeyRecord;
    const same = timingSafeEqual(Buffer.from(record.hash, 'hex'), Buffer.from(hash, 'hex'));
    return same ? record : undefined;
  }
}

function withoutHash(record: KeyRecord): KeyInfo {
  const { hash: _hash, ...info } = record;
  return info;
}

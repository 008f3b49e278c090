import { randomBytes, randomUUID } from 'node:crypto';
import { VaultError } from './kv2-engine.js';

/**
 * Tokens and AppRole logins of the Vault double (hashicorp.md §4.3): a token has a TTL capped by its max
 * TTL; `renew-self` extends it up to that cap (with Vault's warning when capped); an expired or revoked
 * token is `permission denied`.
 */

export interface TokenSpec {
  policies?: string[];
  /** 0: never expires (a root token). */
  ttlSeconds?: number;
  maxTtlSeconds?: number;
  renewable?: boolean;
}

export interface TokenState {
  id: string;
  accessor: string;
  policies: string[];
  ttlSeconds: number;
  maxTtlSeconds: number;
  renewable: boolean;
  issuedAt: number;
  expiresAt: number | undefined;
  path: string;
}

export interface AppRoleSpec extends TokenSpec {
  roleId: string;
  secretId: string;
}

export class TokenTable {
  private readonly tokens = new Map<string, TokenState>();
  private readonly roles = new Map<string, AppRoleSpec>();
  logins = 0;
  renewals = 0;

  create(spec: TokenSpec, path = 'auth/token/create', id = `hvs.${randomBytes(18).toString('base64url')}`): TokenState {
    const ttl = spec.ttlSeconds ?? 0;
    const now = Date.now();
    const token: TokenState = {
      id,
      accessor: randomUUID(),
      policies: spec.policies ?? ['default'],
      ttlSeconds: ttl,
      maxTtlSeconds: spec.maxTtlSeconds ?? (ttl === 0 ? 0 : 32 * 24 * 3600),
      renewable: spec.renewable ?? ttl > 0,
      issuedAt: now,
      expiresAt: ttl === 0 ? undefined : now + ttl * 1000,
      path,
    };
    this.tokens.set(id, token);
    return token;
  }

  /** The live token, or undefined when unknown, revoked or expired. */
  lookup(id: string | undefined): TokenState | undefined {
    const token = id ? this.tokens.get(id) : undefined;
    if (!token) return undefined;
    if (token.expiresAt !== undefined && Date.now() >= token.expiresAt) {
      this.tokens.delete(id!);
      return undefined;
    }
    return token;
  }

  revoke(id: string): void {
    this.tokens.delete(id);
  }

  /** Extends by `increment` (default: the token's TTL), never past issue + max TTL. */
  renew(token: TokenState, incrementSeconds: number | undefined): { leaseSeconds: number; warnings: string[] | null } {
    if (!token.renewable) throw new VaultError(400, 'lease is not renewable');
    this.renewals++;
    const wanted = incrementSeconds || token.ttlSeconds;
    const left = Math.floor((token.issuedAt + token.maxTtlSeconds * 1000 - Date.now()) / 1000);
    const lease = Math.max(0, Math.min(wanted, left));
    token.expiresAt = Date.now() + lease * 1000;
    const warnings = lease < wanted ? [`TTL of "${wanted}s" exceeded the effective max_ttl of "${lease}s"; TTL value is capped accordingly`] : null;
    return { leaseSeconds: lease, warnings };
  }

  addRole(spec: AppRoleSpec): void {
    this.roles.set(spec.roleId, spec);
  }

  login(roleId: unknown, secretId: unknown): TokenState {
    if (typeof roleId !== 'string' || roleId === '') throw new VaultError(400, 'missing role_id');
    const role = this.roles.get(roleId);
    if (!role) throw new VaultError(400, 'invalid role ID');
    if (role.secretId !== secretId) throw new VaultError(400, 'invalid secret id');
    this.logins++;
    return this.create({ renewable: true, ...role }, 'auth/approle/login');
  }

  /** Seconds left, as `lookup-self` reports `ttl`. */
  ttlLeft(token: TokenState): number {
    return token.expiresAt === undefined ? 0 : Math.max(0, Math.round((token.expiresAt - Date.now()) / 1000));
  }
}

import type { Logger } from '../../shared/logger.js';
import { statusOf, type VaultClient } from './vault-client.js';

/**
 * Keeps the client's Vault token alive (hashicorp.md §4.3 and pitfall 20): renews it at two thirds of its
 * TTL (`renew-self`), and with AppRole logs in again when renewal fails, when Vault caps the TTL at the
 * token's max TTL, or when a call answers 403. A static token is renewed while renewable; when it cannot
 * be, the failure is logged and retried, since nothing else can mint a new one. Tokens are never logged.
 */

export type VaultAuthMethod =
  | { kind: 'token'; token: string }
  | { kind: 'approle'; roleId: string; secretId: string; mountPath?: string };

interface AuthInfo {
  ttlSeconds: number;
  renewable: boolean;
}

/** Retry delay after a failed login or renewal, ms. */
const RETRY_MS = 5_000;

export class VaultAuth {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private loggingIn: Promise<void> | undefined;

  constructor(
    private readonly vault: VaultClient,
    private readonly method: VaultAuthMethod,
    private readonly logger: Logger,
  ) {}

  /** Logs in (AppRole) or checks the token (lookup-self), then keeps it renewed until `stop()`. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.login();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Runs `call`; with AppRole, a 403 (token expired or revoked) logs in again and runs it once more. */
  async call<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (statusOf(err) !== 403 || this.method.kind !== 'approle') throw err;
      await this.login();
      return call();
    }
  }

  private async login(): Promise<void> {
    this.loggingIn ??= this.loginOnce().finally(() => (this.loggingIn = undefined));
    await this.loggingIn;
  }

  private async loginOnce(): Promise<void> {
    const info = this.method.kind === 'approle' ? await this.approleLogin(this.method) : await this.lookupToken(this.method.token);
    this.schedule(info);
  }

  private async approleLogin(method: Extract<VaultAuthMethod, { kind: 'approle' }>): Promise<AuthInfo> {
    const res = (await this.vault.approleLogin({ role_id: method.roleId, secret_id: method.secretId, mount_point: method.mountPath ?? 'approle' })) as {
      auth: { lease_duration: number; renewable: boolean };
    };
    this.logger.info({ ttlSeconds: res.auth.lease_duration }, 'logged in to Vault with AppRole');
    return { ttlSeconds: res.auth.lease_duration, renewable: res.auth.renewable };
  }

  private async lookupToken(token: string): Promise<AuthInfo> {
    this.vault.token = token;
    const res = (await this.vault.tokenLookupSelf()) as { data: { ttl: number; renewable: boolean } };
    return { ttlSeconds: res.data.ttl, renewable: res.data.renewable };
  }

  private schedule(info: AuthInfo): void {
    clearTimeout(this.timer);
    if (this.stopped || info.ttlSeconds <= 0) return;
    if (!info.renewable) return this.later(Math.max(0, (info.ttlSeconds * 1000 * 2) / 3), () => this.onCannotRenew());
    this.later((info.ttlSeconds * 1000 * 2) / 3, () => this.renew(info.ttlSeconds));
  }

  private async renew(previousTtl: number): Promise<void> {
    try {
      const res = (await this.vault.tokenRenewSelf({ increment: previousTtl })) as { auth: { lease_duration: number; renewable: boolean }; warnings?: string[] | null };
      const capped = (res.warnings ?? []).some((w) => /max_ttl/.test(w)) || res.auth.lease_duration < previousTtl;
      if (capped && this.method.kind === 'approle') return await this.login();
      this.schedule({ ttlSeconds: res.auth.lease_duration, renewable: res.auth.renewable });
    } catch (err) {
      this.logger.warn({ err: describe(err) }, 'renewing the Vault token failed');
      if (this.method.kind === 'approle') await this.onCannotRenew();
      else this.later(RETRY_MS, () => this.renew(previousTtl));
    }
  }

  /** AppRole: log in again (retrying); a static token: nothing can replace it, so say so and try later. */
  private async onCannotRenew(): Promise<void> {
    if (this.method.kind !== 'approle') {
      this.logger.error({}, 'the Vault token cannot be renewed and will expire; set a renewable or periodic VAULT_TOKEN, or use AppRole');
      return;
    }
    try {
      await this.login();
    } catch (err) {
      this.logger.error({ err: describe(err) }, 'logging in to Vault again failed; retrying');
      this.later(RETRY_MS, () => this.onCannotRenew());
    }
  }

  private later(ms: number, run: () => Promise<void>): void {
    this.timer = setTimeout(() => void run(), ms);
    this.timer.unref();
  }
}

/** The status and Vault's message only: node-vault errors carry the request, which holds the token. */
function describe(err: unknown): string {
  const status = statusOf(err);
  return `${status ? `${status} ` : ''}${(err as Error).message}`;
}

import { statusOf, type VaultClient } from './vault-client.js';

/** A secret's data as stored: string values only (hashicorp.md §1.12: the template renders them to env). */
export type SecretData = Record<string, string>;

/** A KV v2 call failed; the message names the operation, path and Vault's error, never a value. */
export class VaultKvError extends Error {
  override readonly name = 'VaultKvError';
  constructor(
    readonly operation: string,
    readonly path: string,
    readonly status: number | undefined,
    cause: unknown,
  ) {
    super(`vault ${operation} ${path} failed${status ? ` (${status})` : ''}: ${(cause as Error).message}`, { cause });
  }
}

export interface CallGuard {
  call<T>(fn: () => Promise<T>): Promise<T>;
}

/** A `cas` write lost: the secret's version moved. */
export class VaultCasError extends Error {
  override readonly name = 'VaultCasError';
}

/**
 * KV v2 under one mount over node-vault, which has no KV v2 helpers and rejects every 404
 * (hashicorp.md §4.4): missing, soft-deleted and empty-list 404s become `undefined`/`[]` here.
 * `path` is relative to the mount and must already be made of safe segments (node-vault does not encode).
 */
export class VaultKv {
  constructor(
    private readonly vault: VaultClient,
    readonly mount: string,
    /** Runs each call; `VaultAuth.call` logs in again on a 403 (default: runs it as is). */
    private readonly guard: CallGuard = { call: (fn) => fn() },
  ) {}

  async read(path: string): Promise<{ data: SecretData; version: number } | undefined> {
    try {
      const res = (await this.guard.call(() => this.vault.read(`${this.mount}/data/${path}`))) as { data: { data: SecretData; metadata: { version: number } } };
      return { data: res.data.data, version: res.data.metadata.version };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw new VaultKvError('read', path, statusOf(err), err);
    }
  }

  /** Writes a new version; with `cas`, only over that version (0: only when absent). Resolves the version. */
  async write(path: string, data: SecretData, cas?: number): Promise<number> {
    try {
      const body = cas === undefined ? { data } : { data, options: { cas } };
      const res = (await this.guard.call(() => this.vault.write(`${this.mount}/data/${path}`, body))) as { data: { version: number } };
      return res.data.version;
    } catch (err) {
      if (statusOf(err) === 400 && /check-and-set/.test((err as Error).message)) throw new VaultCasError(`${path}: ${(err as Error).message}`);
      throw new VaultKvError('write', path, statusOf(err), err);
    }
  }

  /** Every version and the metadata; no error when there is nothing. */
  async remove(path: string): Promise<void> {
    try {
      await this.guard.call(() => this.vault.delete(`${this.mount}/metadata/${path}`));
    } catch (err) {
      if (statusOf(err) !== 404) throw new VaultKvError('delete', path, statusOf(err), err);
    }
  }

  /** One level of children (`sub/` for folders); empty when none. */
  async list(prefix: string): Promise<string[]> {
    try {
      const res = (await this.guard.call(() => this.vault.list(`${this.mount}/metadata/${prefix}`))) as { data: { keys: string[] } };
      return res.data.keys;
    } catch (err) {
      if (statusOf(err) === 404) return [];
      throw new VaultKvError('list', prefix, statusOf(err), err);
    }
  }
}

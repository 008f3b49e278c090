/**
 * The SecretStore seam (compat.md §5.2): project-wide named secrets whose values never leave the store
 * except into workers (through `value_from_secret`). The embedded implementation encrypts values at rest in
 * the StateStore; the cluster implementation keeps them in Vault KV v2.
 */

/** A secret as the API returns it: the value is never part of it. */
export interface SecretRecord {
  id: string;
  object: 'secret';
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  created_by: string;
  last_updated_by: string;
}

export interface SecretInput {
  name: string;
  value: string;
  description?: string;
}

export interface SecretPatch {
  name?: string;
  value?: string;
  description?: string;
}

export interface SecretStore {
  /** Fails with GANTRY_ERR_SECRET_EXISTS (message contains "already exists") when the name is taken. */
  create(input: SecretInput, actor: string): Promise<SecretRecord>;
  /** `idOrName` is an id or a name; fails with GANTRY_ERR_SECRET_NOT_FOUND. */
  update(idOrName: string, patch: SecretPatch, actor: string): Promise<SecretRecord>;
  get(idOrName: string): Promise<SecretRecord | undefined>;
  list(): Promise<SecretRecord[]>;
  delete(idOrName: string): Promise<boolean>;
  /** The plain value, for injecting into a worker's environment only. Never log or return it. */
  reveal(idOrName: string): Promise<string | undefined>;
}

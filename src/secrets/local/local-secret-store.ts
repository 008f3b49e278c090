import type { Clock } from '../../shared/clock.js';
import type { StateStore } from '../../state/state-store.js';
import type { SecretInput, SecretPatch, SecretRecord, SecretStore } from '../secret-store.js';

/** PLACEHOLDER: being written (AES-256-GCM encrypted secrets in the StateStore). */
export class LocalSecretStore implements SecretStore {
  constructor(
    readonly state: StateStore,
    readonly encryptionKey: Buffer,
    readonly clock: Clock,
  ) {}
  create(_input: SecretInput, _actor: string): Promise<SecretRecord> {
    throw new Error('not yet written');
  }
  update(_idOrName: string, _patch: SecretPatch, _actor: string): Promise<SecretRecord> {
    throw new Error('not yet written');
  }
  get(_idOrName: string): Promise<SecretRecord | undefined> {
    throw new Error('not yet written');
  }
  list(): Promise<SecretRecord[]> {
    throw new Error('not yet written');
  }
  delete(_idOrName: string): Promise<boolean> {
    throw new Error('not yet written');
  }
  reveal(_idOrName: string): Promise<string | undefined> {
    throw new Error('not yet written');
  }
}

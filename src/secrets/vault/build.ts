import type { VaultSettings } from '../../config/schema.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { StateStore } from '../../state/state-store.js';
import type { SecretStore } from '../secret-store.js';
import type { WorkloadSecrets } from '../workload-secrets.js';
import { VaultAuth } from './vault-auth.js';
import { createVaultClient } from './vault-client.js';
import { VaultKv } from './vault-kv.js';
import { VaultSecretStore } from './vault-secret-store.js';
import { VaultWorkloadSecrets } from './vault-workload-secrets.js';

export interface VaultSecrets {
  secrets: SecretStore;
  workloadSecrets: WorkloadSecrets;
  /** Stops the token renewal when the server closes. */
  lifecycle: Array<{ close(): Promise<void> }>;
}

/**
 * Logs in to Vault (token or AppRole) and builds the stores on it. Start-up fails here, with Vault's
 * answer, when Vault cannot be reached or refuses the credentials.
 */
export async function buildVaultSecrets(settings: VaultSettings, deps: { state: StateStore; clock: Clock; logger: Logger }): Promise<VaultSecrets> {
  const client = createVaultClient({
    address: settings.address,
    ...(settings.caFile ? { caFile: settings.caFile } : {}),
    ...(settings.certFile ? { certFile: settings.certFile } : {}),
    ...(settings.keyFile ? { keyFile: settings.keyFile } : {}),
    ...(settings.namespace ? { namespace: settings.namespace } : {}),
  });
  const auth = new VaultAuth(client, settings.auth, deps.logger);
  try {
    await auth.start();
  } catch (err) {
    throw new Error(`cannot log in to Vault at ${settings.address} (${settings.auth.kind}): ${(err as Error).message}`, { cause: err });
  }
  const kv = new VaultKv(client, settings.kvMount, auth);
  return {
    secrets: new VaultSecretStore(deps.state, kv, deps.clock, settings.prefix),
    workloadSecrets: new VaultWorkloadSecrets(kv),
    lifecycle: [{ close: async () => auth.stop() }],
  };
}

import type { FastifyInstance } from 'fastify';
import type { SecretStore } from '../../secrets/secret-store.js';

export interface SecretsRoutesOptions {
  secrets: SecretStore;
}

/** PLACEHOLDER: the Secrets API (compat.md §5.2) is being written. */
export async function secretsRoutes(_app: FastifyInstance, _options: SecretsRoutesOptions): Promise<void> {}

/** Deployment names (compat.md §8.24): the API's rule, the reserved words, and the derived job id. */

export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

/** `/v1/deployments/secrets` and `/v1/deployments/storage/...` are other resources. */
export const RESERVED_NAMES = new Set(['secrets', 'storage']);

/**
 * The Nomad job id and Consul service name of a deployment: lowercase, `_` → `-`, prefixed `gantry-`.
 * Deterministic, so two names that derive the same id (`My_Model`, `my-model`) are refused at create.
 */
export function jobIdOf(name: string): string {
  return `gantry-${name.toLowerCase().replaceAll('_', '-')}`;
}

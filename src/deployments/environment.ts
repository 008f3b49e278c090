import type { SecretStore } from '../secrets/secret-store.js';
import { appError } from '../shared/errors.js';
import type { DeploymentRecord, EnvironmentVariable } from './types.js';

/** Variables Gantry sets for every replica (compat.md §8.14); they win over the deployment's own. */
export const PLATFORM_VARIABLES = [
  'TOGETHER_DEPLOYMENT_NAME',
  'TOGETHER_DEPLOYMENT_REVISION_ID',
  'TOGETHER_API_BASE_URL',
  'TOGETHER_API_KEY',
  'TERMINATION_GRACE_PERIOD_SECONDS',
  'WORLD_SIZE',
] as const;

const PLATFORM = new Set<string>(PLATFORM_VARIABLES);

/**
 * Refuses a list that names one variable twice, and (compat.md §8.17) one whose plain variables collide
 * with secret-backed ones, naming every collision at once.
 */
export function assertValidEnvironment(vars: EnvironmentVariable[]): void {
  const plain = new Set(vars.filter((v) => v.value !== undefined).map((v) => v.name));
  const collisions = [...new Set(vars.filter((v) => v.value_from_secret !== undefined && plain.has(v.name)).map((v) => v.name))];
  if (collisions.length > 0) {
    throw appError('GANTRY_ERR_REQUEST_INVALID', `environment_variables: set both as a value and from a secret: ${collisions.join(', ')}`, {
      param: 'environment_variables',
    });
  }
  const seen = new Set<string>();
  vars.forEach((v, i) => {
    if (seen.has(v.name)) {
      throw appError('GANTRY_ERR_REQUEST_INVALID', `environment_variables.${i}.name: "${v.name}" is listed twice`, {
        param: `environment_variables.${i}.name`,
      });
    }
    seen.add(v.name);
  });
}

/** The notes a deployment carries when its own variables are overridden by the platform's (§8.14). */
export function overrideWarnings(vars: EnvironmentVariable[]): string[] {
  return vars
    .filter((v) => PLATFORM.has(v.name))
    .map((v) => `${v.name} is set by Gantry for every replica; the deployment's own value is kept in its spec but not used`);
}

/** The platform's variables for one revision (TOGETHER_API_KEY is added per replica by the scheduler). */
export function platformEnvironment(record: DeploymentRecord, apiBaseUrl: string): Record<string, string> {
  return {
    TOGETHER_DEPLOYMENT_NAME: record.name,
    TOGETHER_DEPLOYMENT_REVISION_ID: record.revision_id,
    TOGETHER_API_BASE_URL: apiBaseUrl,
    TERMINATION_GRACE_PERIOD_SECONDS: String(record.termination_grace_period_seconds),
    WORLD_SIZE: String(Math.max(1, record.gpu_count)),
  };
}

/** The deployment's own plain variables, minus those the platform overrides. */
export function plainEnvironment(vars: EnvironmentVariable[]): Record<string, string> {
  return Object.fromEntries(vars.filter((v) => v.value !== undefined && !PLATFORM.has(v.name)).map((v) => [v.name, v.value!]));
}

/**
 * Resolves `value_from_secret` entries to their values. Every referenced secret must exist (a 400 naming
 * the entry otherwise), but those the platform overrides are not handed to replicas.
 */
export async function resolveSecretEnvironment(vars: EnvironmentVariable[], secrets: SecretStore): Promise<Record<string, string>> {
  const resolved: Record<string, string> = {};
  for (const [i, v] of vars.entries()) {
    if (v.value_from_secret === undefined) continue;
    const value = await secrets.reveal(v.value_from_secret);
    if (value === undefined) {
      throw appError('GANTRY_ERR_REQUEST_INVALID', `environment_variables.${i}.value_from_secret: no secret named "${v.value_from_secret}"`, {
        param: `environment_variables.${i}.value_from_secret`,
      });
    }
    if (!PLATFORM.has(v.name)) resolved[v.name] = value;
  }
  return resolved;
}

/** The environment list as the API returns it: the deployment's own, plus the revision id (§8.23). */
export function environmentView(record: DeploymentRecord): EnvironmentVariable[] {
  const own = record.environment_variables.filter((v) => v.name !== 'TOGETHER_DEPLOYMENT_REVISION_ID');
  return [...own, { name: 'TOGETHER_DEPLOYMENT_REVISION_ID', value: record.revision_id }];
}

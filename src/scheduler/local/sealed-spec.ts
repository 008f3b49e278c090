import { seal, unseal, UnsealError, type SealedValue } from '../../secrets/local/seal.js';
import type { JobSpec } from '../scheduler.js';

/**
 * A JobSpec as the state files hold it. With a key, the resolved secret values are sealed (AES-256-GCM,
 * seal.ts) as `secretEnvSealed`, authenticated with the id of the record that holds them, so a sealed
 * blob copied into another file does not open. Without a key they stay plain (`secretEnv`), as before.
 */
export type StoredSpec = Omit<JobSpec, 'secretEnv'> & {
  secretEnv?: Record<string, string>;
  secretEnvSealed?: SealedValue;
};

/** The AAD of a record: its kind and id, namespaced so it cannot match a secret store record's id. */
export type SealScope = { kind: 'deployment' | 'replica'; id: string };

export function sealSpec(key: Buffer | undefined, spec: JobSpec, scope: SealScope): StoredSpec {
  if (!key) return spec;
  const { secretEnv, ...rest } = spec;
  return { ...rest, secretEnvSealed: seal(key, JSON.stringify(secretEnv), aadOf(scope)) };
}

/** The spec with its secret values back; throws `UnsealError` (which names no value) when they cannot be had. */
export function unsealSpec(key: Buffer | undefined, stored: StoredSpec, scope: SealScope): JobSpec {
  const { secretEnvSealed, secretEnv, ...rest } = stored;
  if (secretEnvSealed === undefined) return { ...rest, secretEnv: assertEnv(secretEnv) };
  if (!key) throw new UnsealError('the secret environment is sealed and no key was given');
  return { ...rest, secretEnv: assertEnv(parse(unseal(key, secretEnvSealed, aadOf(scope)))) };
}

/** Whether a stored spec still holds plain secret values that a key could seal. */
export function isPlain(key: Buffer | undefined, stored: StoredSpec): boolean {
  return key !== undefined && stored.secretEnvSealed === undefined;
}

function aadOf(scope: SealScope): string {
  return `gantry/scheduler/${scope.kind}/${scope.id}`;
}

function parse(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    // No cause: a JSON error quotes its input, which here is the secret values.
    throw new UnsealError('the sealed secret environment is not JSON');
  }
}

function assertEnv(value: unknown): Record<string, string> {
  const ok = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!ok || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new UnsealError('the secret environment is not a map of strings');
  }
  return value as Record<string, string>;
}

import type { WorkloadPath, WorkloadSecrets } from '../workload-secrets.js';
import type { VaultKv } from './vault-kv.js';

/** Nomad namespaces and job ids as Nomad accepts them; anything else could reshape the Vault path. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9\-_.]*$/;

/**
 * A job's secret environment at `<mount>/data/<namespace>/<job id>/env` (hashicorp.md §1.12): the path
 * Nomad's default workload-identity policy lets that job alone read, rendered to env by the job's
 * template. Variable names are checked here so the template renders one `NAME=value` line per key.
 */
export class VaultWorkloadSecrets implements WorkloadSecrets {
  constructor(private readonly kv: VaultKv) {}

  async put(path: WorkloadPath, env: Record<string, string>): Promise<void> {
    for (const name of Object.keys(env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`"${name}" is not an environment variable name`);
    }
    await this.kv.write(relativePath(path), env);
  }

  async remove(path: WorkloadPath): Promise<void> {
    await this.kv.remove(relativePath(path));
  }

  templatePath(path: WorkloadPath): string {
    return `${this.kv.mount}/data/${relativePath(path)}`;
  }
}

function relativePath({ namespace, jobId }: WorkloadPath): string {
  for (const [what, value] of [['namespace', namespace], ['job id', jobId]] as const) {
    if (!SEGMENT.test(value) || value.includes('..')) throw new TypeError(`Nomad ${what} "${value}" cannot be a Vault path segment`);
  }
  return `${namespace}/${jobId}/env`;
}

import type { WorkloadPath, WorkloadSecrets } from '../../../src/secrets/workload-secrets.js';

/** In-memory WorkloadSecrets: what Vault would hold at `secret/data/<namespace>/<job id>/env`. */
export class MemoryWorkloadSecrets implements WorkloadSecrets {
  readonly entries = new Map<string, Record<string, string>>();
  /** Every operation in order, to check that secrets are written before the job that reads them. */
  readonly calls: Array<{ op: 'put' | 'remove'; path: string }> = [];

  async put(path: WorkloadPath, env: Record<string, string>): Promise<void> {
    this.calls.push({ op: 'put', path: this.templatePath(path) });
    this.entries.set(this.templatePath(path), { ...env });
  }

  async remove(path: WorkloadPath): Promise<void> {
    this.calls.push({ op: 'remove', path: this.templatePath(path) });
    this.entries.delete(this.templatePath(path));
  }

  templatePath(path: WorkloadPath): string {
    return `secret/data/${path.namespace}/${path.jobId}/env`;
  }

  /** Every secret value held, for scans of what was sent elsewhere. */
  values(): string[] {
    return [...this.entries.values()].flatMap((env) => Object.values(env));
  }
}

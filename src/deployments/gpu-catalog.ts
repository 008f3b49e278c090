/**
 * The GPU catalog (compat.md §8.10): every `gpu_type` a deployment may name, and what it means to a
 * scheduler. The built-ins cover the hosted product's types; operators add their own in configuration
 * (later: `[gpu_types.<name>]` in the server's TOML), mapping a name to Nomad device constraints.
 */
export interface GpuType {
  name: string;
  /** Whether the type means "no GPU at all". */
  none: boolean;
  /** Substring the device model must contain (Nomad `${device.model}` constraint). */
  model: string | undefined;
  /** Minimum device memory in MiB (Nomad `${device.attr.memory}`), when it distinguishes the type. */
  memoryMiB: number | undefined;
  /** MIG profile name for partitioned GPUs. */
  migProfile: string | undefined;
}

const gpu = (name: string, model: string | undefined, memoryMiB?: number, migProfile?: string): GpuType => ({
  name,
  none: model === undefined,
  model,
  memoryMiB,
  migProfile,
});

export const BUILTIN_GPU_TYPES: readonly GpuType[] = [
  gpu('none', undefined),
  gpu('h100-80gb', 'H100', 80 * 1024),
  gpu('h100-40gb-mig', 'H100', 40 * 1024, '3g.40gb'),
  gpu('h200-140gb', 'H200', 140 * 1024),
  gpu('b200-192gb', 'B200', 180 * 1024),
];

export class GpuCatalog {
  private readonly byName: Map<string, GpuType>;

  constructor(types: readonly GpuType[] = BUILTIN_GPU_TYPES) {
    this.byName = new Map(types.map((t) => [t.name, t]));
  }

  get(name: string): GpuType | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}

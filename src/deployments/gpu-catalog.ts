/**
 * The GPU catalog (compat.md §8.10): every `gpu_type` a deployment may name, and what it means to a
 * scheduler. The built-ins cover the hosted product's types; operators add their own (A100, L40S, more MIG
 * profiles, …) in the server's configuration (`gpu_types`), mapping a name to Nomad device constraints.
 *
 * Nomad's NVIDIA device plugin names a device after NVML's product name (`NVIDIA H100 80GB HBM3`) and
 * reports `memory` in MiB. A MIG slice is offered as its own device named `<parent name> MIG <profile>`
 * with the slice's memory, and the parent is then not offered (hashicorp.md §1.11). Marketing sizes are
 * larger than what NVML reports (an "80GB" H100 has 81559 MiB), so the memory floors below sit under the
 * reported values.
 */
export interface GpuType {
  name: string;
  /** Whether the type means "no GPU at all". */
  none: boolean;
  /** Substring the device model must contain (Nomad `${device.model}` constraint). */
  model: string | undefined;
  /** Minimum device memory in MiB (Nomad `${device.attr.memory}`), when it distinguishes the type. */
  memoryMiB: number | undefined;
  /** MIG profile name for partitioned GPUs (`3g.40gb`): the device model must end in ` MIG <profile>`. */
  migProfile: string | undefined;
}

/** An operator's GPU type as written in configuration (`gpu_types.<name>` in TOML). */
export interface GpuTypeOptions {
  /** Substring of the NVML device name, e.g. `A100`. */
  model: string;
  /** Minimum device memory in MiB (default: no memory constraint). */
  memory_mib?: number | undefined;
  /** MIG profile, e.g. `1g.10gb` (default: a whole GPU). */
  mig_profile?: string | undefined;
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
  // H100 SXM reports 81559 MiB, H100 PCIe 81559 MiB, H100 NVL 95830 MiB.
  gpu('h100-80gb', 'H100', 80_000),
  // The 3g.40gb slice of an H100 80GB reports 40448 MiB.
  gpu('h100-40gb-mig', 'H100', 40_000, '3g.40gb'),
  // H200 reports 143771 MiB.
  gpu('h200-140gb', 'H200', 140_000),
  // B200 reports 183359 MiB.
  gpu('b200-192gb', 'B200', 180_000),
];

/** An operator's type as a catalog entry. */
export function gpuTypeFromOptions(name: string, options: GpuTypeOptions): GpuType {
  return gpu(name, options.model, options.memory_mib, options.mig_profile);
}

export class GpuCatalog {
  private readonly byName: Map<string, GpuType>;

  /** The built-ins, then `extra` (an operator's type of the same name replaces the built-in). */
  constructor(types: readonly GpuType[] = BUILTIN_GPU_TYPES, extra: readonly GpuType[] = []) {
    this.byName = new Map([...types, ...extra].map((t) => [t.name, t]));
  }

  get(name: string): GpuType | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}

import type { Constraint, RequestedDevice } from '../../clients/nomad/types.js';
import type { GpuType } from '../../deployments/gpu-catalog.js';

/** Escapes a literal for Nomad's `regexp` operand (Go RE2 syntax). */
function escapeRegexp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The `${device.model}` / `${device.attr.memory}` constraints that pick a catalog type's devices
 * (hashicorp.md §1.11). A MIG type matches only slices of its profile (`… MIG 3g.40gb`); a whole-GPU type
 * names the model and a memory floor, which also keeps it off smaller MIG slices of the same model.
 */
export function deviceConstraints(type: GpuType): Constraint[] {
  const constraints: Constraint[] = [];
  if (type.model !== undefined) {
    const model = escapeRegexp(type.model);
    const pattern = type.migProfile === undefined ? model : `${model}.* MIG ${escapeRegexp(type.migProfile)}$`;
    constraints.push({ LTarget: '${device.model}', Operand: 'regexp', RTarget: pattern });
  }
  if (type.memoryMiB !== undefined) {
    constraints.push({ LTarget: '${device.attr.memory}', Operand: '>=', RTarget: `${type.memoryMiB} MiB` });
  }
  return constraints;
}

/** The task's `Devices`: `count` NVIDIA GPUs of the type, or none for `gpu_type = "none"` or a count of 0. */
export function gpuDevices(type: GpuType, count: number): RequestedDevice[] {
  if (type.none || count <= 0) return [];
  return [{ Name: 'nvidia/gpu', Count: count, Constraints: deviceConstraints(type) }];
}

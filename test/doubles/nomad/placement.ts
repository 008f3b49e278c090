import type { AllocationMetric, Constraint, Job } from '../../../src/clients/nomad/types.js';

/** A client node of the double, with its NVIDIA devices (one entry per device name, as Nomad groups them). */
export interface DoubleNode {
  id: string;
  name: string;
  address: string;
  devices: Array<{ name: string; memoryMiB: number; count: number }>;
  /** Task drivers the node has, detected and healthy (default: docker, exec, raw_exec). */
  drivers?: string[];
}

export const DEFAULT_DRIVERS = ['docker', 'exec', 'raw_exec'];

/** Whether the node has the job's task driver. */
export function hasDriver(node: DoubleNode, job: Job): boolean {
  return (node.drivers ?? DEFAULT_DRIVERS).includes(job.TaskGroups[0]!.Tasks[0]!.Driver);
}

/** Compares `${device.attr.memory}` with a target such as `80000 MiB` or `40 GiB`. */
function mib(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(MiB|GiB|MB|GB)?\s*$/.exec(text);
  if (!m) return NaN;
  const unit = m[2] ?? 'MiB';
  return Number(m[1]) * (unit === 'GiB' ? 1024 : unit === 'GB' ? 1000 ** 3 / 1024 ** 2 / 1000 : 1);
}

function deviceMatches(device: DoubleNode['devices'][number], c: Constraint): boolean {
  const left = c.LTarget === '${device.model}' ? device.name : c.LTarget === '${device.attr.memory}' ? `${device.memoryMiB} MiB` : undefined;
  if (left === undefined) return false;
  switch (c.Operand) {
    case 'regexp': return new RegExp(c.RTarget).test(left);
    case '=': return left === c.RTarget;
    case '!=': return left !== c.RTarget;
    case '>=': return mib(left) >= mib(c.RTarget);
    case '>': return mib(left) > mib(c.RTarget);
    case '<=': return mib(left) <= mib(c.RTarget);
    case '<': return mib(left) < mib(c.RTarget);
    default: return false;
  }
}

/**
 * Why `missing` allocations of the job cannot all be placed, as an `AllocationMetric` (hashicorp.md §1.4,
 * §1.11): `ConstraintFiltered["missing devices"]` when no node has a matching device, or
 * `DimensionExhausted["devices: …"]` when the matching ones are in use. Undefined when all fit.
 */
export function placementFailure(job: Job, all: DoubleNode[], used: Map<string, number>, missing: number): { metric: AllocationMetric; unplaced: number } | undefined {
  const nodes = all.filter((n) => hasDriver(n, job));
  if (nodes.length === 0) {
    // Nomad's feasibility checkers filter on the driver first (hashicorp.md §7: "missing drivers").
    return { unplaced: missing, metric: { NodesEvaluated: all.length, NodesFiltered: all.length, NodesExhausted: 0, ConstraintFiltered: { 'missing drivers': all.length }, DimensionExhausted: null } };
  }
  const wanted = job.TaskGroups[0]!.Tasks[0]!.Resources.Devices ?? [];
  const perAlloc = wanted.reduce((n, d) => n + d.Count, 0);
  if (perAlloc === 0) return undefined;
  const constraints = wanted.flatMap((d) => d.Constraints ?? []);
  const feasible = nodes.filter((n) => n.devices.some((d) => constraints.every((c) => deviceMatches(d, c)) && d.count >= perAlloc));
  if (feasible.length === 0) {
    return { unplaced: missing, metric: { NodesEvaluated: nodes.length, NodesFiltered: nodes.length, NodesExhausted: 0, ConstraintFiltered: { 'missing devices': nodes.length }, DimensionExhausted: null } };
  }
  const capacity = feasible.reduce((n, node) => {
    const total = node.devices.filter((d) => constraints.every((c) => deviceMatches(d, c))).reduce((s, d) => s + d.count, 0);
    return n + Math.floor(Math.max(0, total - (used.get(node.id) ?? 0)) / perAlloc);
  }, 0);
  if (capacity >= missing) return undefined;
  const name = wanted[0]!.Name;
  return { unplaced: missing - capacity, metric: { NodesEvaluated: nodes.length, NodesFiltered: nodes.length - feasible.length, NodesExhausted: feasible.length, ConstraintFiltered: null, DimensionExhausted: { [`devices: ${name}`]: feasible.length } } };
}

/** The first node with room for one more allocation of the job (any node for a job without devices). */
export function pickNode(job: Job, all: DoubleNode[], used: Map<string, number>): DoubleNode {
  const nodes = all.filter((n) => hasDriver(n, job));
  const wanted = job.TaskGroups[0]!.Tasks[0]!.Resources.Devices ?? [];
  const perAlloc = wanted.reduce((n, d) => n + d.Count, 0);
  if (perAlloc === 0) return nodes[0]!;
  const constraints = wanted.flatMap((d) => d.Constraints ?? []);
  const free = (node: DoubleNode) =>
    node.devices.filter((d) => constraints.every((c) => deviceMatches(d, c))).reduce((s, d) => s + d.count, 0) - (used.get(node.id) ?? 0);
  return nodes.find((n) => free(n) >= perAlloc) ?? nodes[0]!;
}

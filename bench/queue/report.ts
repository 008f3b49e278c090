/**
 * Printing the figures as tables and writing bench/results/queue.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import type { LatencyResult, ThroughputResult } from './harness.js';
import { round } from './harness.js';
import { REPO_ROOT } from './system.js';

export interface QueueReport {
  date: string;
  node: string;
  /** loadAvg1m: the 1-minute load average when the run began (other work on the machine skews figures). */
  machine: { cpus: number; cpuModel: string; mem: number; memGiB: number; loadAvg1m: number };
  options: Record<string, number>;
  /** Durability settings read back from the running servers. */
  services: Record<string, Record<string, string>>;
  results: {
    throughput: Record<string, ThroughputResult>;
    latency: Record<string, LatencyResult>;
    gantry: Record<string, unknown> | 'skipped (queue not built yet)';
  };
  ratios: Record<string, number>;
  notes: string[];
}

export function machine(): QueueReport['machine'] {
  const mem = totalmem();
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    mem,
    memGiB: round(mem / 2 ** 30, 1),
    loadAvg1m: round(loadavg()[0] ?? 0, 2),
  };
}

/**
 * Throughput ratios: Gantry over each other queue when Gantry ran (issue 4's target is ≥ 1.0), and
 * BullMQ over graphile-worker for reference.
 */
export function throughputRatios(throughput: Record<string, ThroughputResult>): Record<string, number> {
  const ratios: Record<string, number> = {};
  const ratio = (a: string, b: string): void => {
    const x = throughput[a];
    const y = throughput[b];
    if (x && y) ratios[`${a} / ${b} (jobs/s)`] = round(x.jobsPerSecond / y.jobsPerSecond, 2);
  };
  ratio('gantry', 'graphile-worker');
  ratio('gantry', 'bullmq');
  ratio('bullmq', 'graphile-worker');
  return ratios;
}

export function printThroughput(results: ThroughputResult[]): void {
  printTable(
    ['queue', 'jobs', 'workers', 'seconds', 'jobs/s', 'submit s'],
    results.map((r) => [r.name, r.jobs, r.workers, r.seconds.toFixed(2), r.jobsPerSecond, r.submitSeconds.toFixed(2)]),
  );
}

export function printLatency(results: LatencyResult[]): void {
  printTable(
    ['add → start', 'samples', 'p50 ms', 'p99 ms', 'mean ms', 'max ms'],
    results.map((r) => [r.name, r.samples, r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), r.meanMs.toFixed(2), r.maxMs.toFixed(2)]),
  );
}

export function printRatios(ratios: Record<string, number>): void {
  printTable(['ratio', 'value'], Object.entries(ratios).map(([k, v]) => [k, `${v.toFixed(2)}x`]));
}

/** A plain aligned table: first column left-aligned, the rest right-aligned. */
function printTable(head: string[], rows: Array<Array<string | number>>): void {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of cells.slice(1)) console.log(line(r));
}

/** Writes the report to bench/results/queue.json and returns the path. */
export function writeReport(report: QueueReport): string {
  const file = path.join(REPO_ROOT, 'bench', 'results', 'queue.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  return file;
}

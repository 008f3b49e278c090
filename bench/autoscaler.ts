/**
 * The autoscaler in the deterministic simulation (test/helpers/autoscaler-sim.ts: fake clock, the real
 * Autoscaler and JobQueue, replicas that take BENCH_STARTUP_S to start). For a burst, a ramp and an idle
 * period it prints the reaction time (backlog appears → scale call), replica-seconds used against the
 * ideal (the jobs' own work), and the jobs' wait times (submit → claim); once for Gantry (queue events
 * plus a 1 s tick) and once for the usual alternative (a tick every 10 s, no events). Writes
 * bench/results/autoscaler.json.
 *
 *   npm run bench:autoscaler
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoscalerSim, type SimOptions, type SimReport } from '../test/helpers/autoscaler-sim.js';

const STARTUP_MS = Number(process.env.BENCH_STARTUP_S ?? 30) * 1000;
const WINDOW_MS = 60_000;

interface Scenario {
  name: string;
  options: Omit<SimOptions, 'eventDriven' | 'intervalMs'>;
  drive(sim: AutoscalerSim): Promise<void>;
}

const scenarios: Scenario[] = [
  {
    name: 'burst: 80 jobs of 10 s at once, max 8 replicas',
    options: { min: 0, max: 8, startupMs: STARTUP_MS, stabilizationMs: WINDOW_MS },
    drive: async (sim) => {
      await sim.run(5_000);
      await sim.submit(80, 10_000);
      await sim.run(300_000);
    },
  },
  {
    name: 'ramp: 0 → 1 job/s over 10 min (8 s jobs), then quiet, max 10',
    options: { min: 0, max: 10, startupMs: STARTUP_MS, stabilizationMs: WINDOW_MS },
    drive: async (sim) => {
      let submitted = 0;
      const rampMs = 600_000;
      const started = sim.clock.now();
      await sim.run(rampMs, async (now) => {
        const t = (now - started) / 1000;
        const due = Math.floor((t * t) / (2 * (rampMs / 1000))); // ∫ rate, rate rising linearly to 1/s
        if (due > submitted) await sim.submit(due - submitted, 8_000);
        submitted = Math.max(submitted, due);
      });
      await sim.run(180_000);
    },
  },
  {
    name: 'idle: 4 replicas and no work for 5 min',
    options: { min: 0, max: 4, initial: 4, startupMs: STARTUP_MS, stabilizationMs: WINDOW_MS },
    drive: async (sim) => sim.run(300_000),
  },
];

const modes = [
  { name: 'gantry (events + 1 s tick)', eventDriven: true, intervalMs: 1_000 },
  { name: 'tick every 10 s', eventDriven: false, intervalMs: 10_000 },
];

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summarize(report: SimReport) {
  const s = (ms: number) => Math.round(ms) / 1000;
  return {
    reactionS: { max: s(Math.max(0, ...report.reactionMs)), mean: s(report.reactionMs.reduce((a, b) => a + b, 0) / (report.reactionMs.length || 1)), episodes: report.reactionMs.length },
    reactionWallMs: { max: Math.round(Math.max(0, ...report.reactionWallMs) * 100) / 100 },
    replicaSeconds: Math.round(report.replicaSeconds),
    idealReplicaSeconds: Math.round(report.idealReplicaSeconds),
    overIdeal: report.idealReplicaSeconds ? Math.round((report.replicaSeconds / report.idealReplicaSeconds) * 100) / 100 : null,
    waitS: { p50: s(percentile(report.waitsMs, 50)), p95: s(percentile(report.waitsMs, 95)), max: s(percentile(report.waitsMs, 100)) },
    jobsDone: report.jobsDone,
    lostClaims: report.lostClaims,
    scaleCalls: report.scaleCalls.length,
  };
}

async function runOne(scenario: Scenario, mode: (typeof modes)[number]) {
  const sim = await AutoscalerSim.create({ ...scenario.options, eventDriven: mode.eventDriven, intervalMs: mode.intervalMs });
  try {
    await scenario.drive(sim);
    return summarize(sim.report());
  } finally {
    await sim.close();
  }
}

/** The wall-clock figure is the code path's own latency; only meaningful when a submit triggers the call. */
function print(mode: (typeof modes)[number], r: Awaited<ReturnType<typeof runOne>>): void {
  const reaction = r.reactionS.episodes === 0 ? '     -  ' : `${String(r.reactionS.max).padStart(6)} s`;
  const wall = mode.eventDriven && r.reactionS.episodes > 0 ? ` (${r.reactionWallMs.max} ms wall)` : '';
  console.log(
    `  ${mode.name.padEnd(28)} reaction max ${reaction}${wall}` +
      `  replica-s ${String(r.replicaSeconds).padStart(6)} vs ideal ${String(r.idealReplicaSeconds).padStart(5)}` +
      `  wait p50/p95/max ${r.waitS.p50}/${r.waitS.p95}/${r.waitS.max} s  jobs ${r.jobsDone}  lost claims ${r.lostClaims}`,
  );
}

async function main(): Promise<void> {
  console.log(`replica start-up ${STARTUP_MS / 1000} s, scale-down window ${WINDOW_MS / 1000} s (simulated time)`);
  const results = [];
  for (const scenario of scenarios) {
    console.log(scenario.name);
    for (const mode of modes) {
      const figures = await runOne(scenario, mode);
      print(mode, figures);
      results.push({ scenario: scenario.name, mode: mode.name, ...figures });
    }
  }
  const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'autoscaler.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, startupS: STARTUP_MS / 1000, windowS: WINDOW_MS / 1000, results }, null, 2) + '\n');
  console.log(`wrote ${out}`);
}

await main();

/**
 * `jig status` wall time against a running embedded server (issue 6's target: under 300 ms). Bundles
 * the CLI into dist/jig.mjs as `npm run build` does, starts `gantry server` with one deployment, then
 * runs the built `jig status` (text and --json) BENCH_JIG_RUNS times each (default 20), each as a fresh
 * process, exactly as a user would. Prints the figures and writes bench/results/jig-status.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cleanUpOnExit, createCleanup } from './queue/cleanup.js';
import { startGantryServer } from './queue/gantry-server.js';
import { machine } from './queue/report.js';
import { REPO_ROOT } from './queue/system.js';

const RUNS = Number(process.env.BENCH_JIG_RUNS ?? 20);
const TARGET_MS = 300;
const JIG = path.join(REPO_ROOT, 'dist/jig.mjs');

function build(): void {
  const started = performance.now();
  const bundle = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/build-jig.mjs')], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (bundle.status !== 0) throw new Error('building the CLI failed');
  console.log(`built the CLI in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** One `jig` run as a fresh process; resolves with its wall time in ms. */
function timeRun(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [JIG, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`jig ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

function summary(samples: number[]): { min: number; median: number; p90: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]!);
  return { min: Math.round(s[0]!), median: at(0.5), p90: at(0.9), max: Math.round(s[s.length - 1]!) };
}

async function main(): Promise<void> {
  build();
  const cleanup = createCleanup();
  cleanUpOnExit(cleanup);
  try {
    const server = await startGantryServer(cleanup, (line) => console.log(line));
    const project = mkdtempSync(path.join(tmpdir(), 'jig-bench-'));
    writeFileSync(path.join(project, 'jig.toml'), `name = "${server.model}"\n`);
    const env = { PATH: process.env.PATH, TOGETHER_API_KEY: server.key, TOGETHER_BASE_URL: `${server.url}/v1`, GANTRY_DATA_DIR: path.dirname(path.dirname(server.caFile)) };
    const results: Record<string, ReturnType<typeof summary>> = {};
    for (const args of [['status'], ['status', '--json']]) {
      await timeRun(args, project, env); // warm the file cache
      const samples: number[] = [];
      for (let i = 0; i < RUNS; i++) samples.push(await timeRun(args, project, env));
      results[`jig ${args.join(' ')}`] = summary(samples);
    }
    report(results);
  } finally {
    await cleanup.runAll();
  }
}

function report(results: Record<string, ReturnType<typeof summary>>): void {
  console.log(`\njig status wall time, ${RUNS} runs each (target: median under ${TARGET_MS} ms)`);
  for (const [name, r] of Object.entries(results)) {
    const verdict = r.median < TARGET_MS ? 'meets' : 'MISSES';
    console.log(`  ${name.padEnd(20)} min ${r.min} ms  median ${r.median} ms  p90 ${r.p90} ms  max ${r.max} ms  (${verdict} the target)`);
  }
  mkdirSync(path.join(REPO_ROOT, 'bench/results'), { recursive: true });
  const file = path.join(REPO_ROOT, 'bench/results/jig-status.json');
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), runs: RUNS, targetMs: TARGET_MS, results }, null, 2)}\n`);
  console.log(`written to ${path.relative(REPO_ROOT, file)}`);
}

await main();

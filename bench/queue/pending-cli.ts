/**
 * `npm run bench:queue:pending`: issue 4 §6's "1,000,000 pending jobs" figures on their own (pending.ts),
 * printed and written to bench/results/queue-pending.json.
 *
 *   BENCH_PENDING=1000000 npm run bench:queue:pending
 *
 * Env: BENCH_PENDING (jobs, default 1000000), BENCH_PENDING_PROFILE=1 (time the layers of start() even
 * when the targets are met), TMPDIR (where the temporary store goes; needs about 5 GB per 1M jobs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanUpOnExit, createCleanup } from './cleanup.js';
import { formatPending, runPendingBenchmark } from './pending.js';
import { machine } from './report.js';
import { REPO_ROOT } from './system.js';

const log = (line: string): void => console.error(`[bench:queue:pending] ${line}`);

function jobsFromEnv(): number {
  const raw = process.env.BENCH_PENDING;
  if (raw === undefined || raw === '') return 1_000_000;
  const jobs = Number(raw);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`BENCH_PENDING must be a positive integer, got "${raw}"`);
  return jobs;
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const host = machine();
  const cleanup = createCleanup();
  const removeHandlers = cleanUpOnExit(cleanup);
  let result;
  try {
    result = await runPendingBenchmark({ jobs: jobsFromEnv(), log, cleanup, profile: process.env.BENCH_PENDING_PROFILE === '1' });
  } finally {
    await cleanup.runAll();
    removeHandlers();
  }
  console.log(formatPending(result).join('\n'));
  const file = path.join(REPO_ROOT, 'bench/results/queue-pending.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ date: startedAt, node: process.version, machine: host, result }, null, 2)}\n`);
  log(`wrote ${path.relative(REPO_ROOT, file)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});

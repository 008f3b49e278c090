import { randomUUID } from 'node:crypto';
import { assertInfo } from './progress.js';
import type { Sprocket } from './sprocket.js';
import type { JsonObject } from './types.js';

/**
 * Warmup (compat.md §3.6): with RUN_AND_EXIT=N > 0, `predict` runs on `warmupInputs` (or one `{}`) N times
 * over; otherwise on each `warmupInputs` entry once. Inputs go straight to `predict` (no download, finalize
 * or upload). Prints `===predict times===: [...]` when anything ran.
 */
export async function runWarmup(worker: Sprocket, runAndExit: number, print: (line: string) => void = console.log): Promise<void> {
  const base: JsonObject[] = worker.warmupInputs;
  const inputs = runAndExit > 0 ? Array.from({ length: runAndExit }, () => (base.length ? base : [{}])).flat() : base;
  const times: number[] = [];
  for (const args of inputs) {
    const start = performance.now();
    const controller = new AbortController();
    await worker.predict({ ...args }, { requestId: randomUUID(), mode: 'warmup', signal: controller.signal, emitInfo: assertInfo });
    times.push(Math.round(performance.now() - start) / 1000);
  }
  if (times.length) print(`===predict times===: [${times.join(', ')}]`);
}

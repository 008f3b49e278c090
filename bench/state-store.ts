/**
 * StateStore throughput on the embedded SQLite implementation (WAL, synchronous = FULL: every resolved
 * write is on disk). Prints figures and writes bench/results/state-store.json.
 *
 *   npm run bench:state
 *
 * The ratio "txn of 64 sets vs single puts" shows what batching durable writes buys, which is what the
 * queue's group commit relies on.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStateStore } from '../src/state/sqlite/sqlite-store.js';
import type { TxnOp } from '../src/state/state-store.js';

const VALUE = JSON.stringify({ payload: 'x'.repeat(1024) });

async function timed(label: string, ops: number, fn: () => Promise<void>): Promise<{ label: string; opsPerSec: number }> {
  const start = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const opsPerSec = Math.round(ops / seconds);
  console.log(`${label.padEnd(44)} ${String(opsPerSec).padStart(9)} ops/s`);
  return { label, opsPerSec };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-bench-state-'));
  const store = new SqliteStateStore(path.join(dir, 'state.db'));
  const n = Number(process.env.BENCH_OPS ?? 2000);
  const results = [
    await timed('put (1 KiB, durable)', n, async () => {
      for (let i = 0; i < n; i++) await store.put(`put/${i}`, VALUE);
    }),
    await timed('cas update (1 KiB, durable)', n, async () => {
      for (let i = 0; i < n; i++) {
        const entry = (await store.get(`put/${i}`))!;
        await store.cas(entry.key, VALUE, entry.modifyIndex);
      }
    }),
    await timed('txn of 64 sets, per key (1 KiB, durable)', n * 8, async () => {
      for (let b = 0; b < (n * 8) / 64; b++) {
        const ops: TxnOp[] = Array.from({ length: 64 }, (_, i) => ({ verb: 'set', key: `txn/${b}/${i}`, value: VALUE }));
        await store.txn(ops);
      }
    }),
    await timed('get', n * 10, async () => {
      for (let i = 0; i < n * 10; i++) await store.get(`put/${i % n}`);
    }),
  ];
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const batching = results[2]!.opsPerSec / results[0]!.opsPerSec;
  console.log(`batching gain (txn-64 per key / single put): ${batching.toFixed(1)}x`);
  mkdirSync('bench/results', { recursive: true });
  const out = { date: new Date().toISOString(), node: process.version, ops: n, results, batchingGain: batching };
  writeFileSync('bench/results/state-store.json', JSON.stringify(out, null, 2) + '\n');
}

await main();

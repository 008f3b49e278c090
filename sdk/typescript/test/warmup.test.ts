import { describe, expect, it } from 'vitest';
import { Sprocket, type JsonObject, type PredictContext } from '../src/index.js';
import { runWarmup } from '../src/warmup.js';

class Recorder extends Sprocket {
  readonly calls: { args: JsonObject; mode: string }[] = [];

  predict(args: JsonObject, ctx: PredictContext): JsonObject {
    this.calls.push({ args, mode: ctx.mode });
    return {};
  }
}

const lines: string[] = [];
const print = (line: string) => lines.push(line);

describe('runWarmup', () => {
  it('runs each warmup input once when RUN_AND_EXIT is 0', async () => {
    const worker = new Recorder();
    worker.warmupInputs = [{ a: 1 }, { a: 2 }];
    await runWarmup(worker, 0, print);
    expect(lines.at(-1)).toMatch(/^===predict times===: \[[\d.]+, [\d.]+\]$/);
    expect(worker.calls).toEqual([
      { args: { a: 1 }, mode: 'warmup' },
      { args: { a: 2 }, mode: 'warmup' },
    ]);
  });

  it('runs the warmup inputs N times over with RUN_AND_EXIT=N, and one {} when there are none', async () => {
    const withInputs = new Recorder();
    withInputs.warmupInputs = [{ a: 1 }, { a: 2 }];
    await runWarmup(withInputs, 2, print);
    expect(withInputs.calls.map((c) => c.args.a)).toEqual([1, 2, 1, 2]);
    const bare = new Recorder();
    await runWarmup(bare, 3, print);
    expect(bare.calls.map((c) => c.args)).toEqual([{}, {}, {}]);
  });

  it('runs nothing without warmup inputs when RUN_AND_EXIT is 0', async () => {
    const worker = new Recorder();
    const before = lines.length;
    await runWarmup(worker, 0, print);
    expect(worker.calls).toEqual([]);
    expect(lines).toHaveLength(before);
  });
});

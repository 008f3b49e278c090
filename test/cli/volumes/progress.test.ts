import { describe, expect, it } from 'vitest';
import type { Output } from '../../../cli/src/output.js';
import { progressLine } from '../../../cli/src/volumes/progress.js';

function terminal(isTty: boolean): Output & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(l), err: (l) => lines.push(l), isTty };
}

const MB = 1024 * 1024;

describe('progressLine', () => {
  it('redraws one line with percent, speed, file, sizes and file counts, then the total time', () => {
    let t = 0;
    const drawn: string[] = [];
    const out = terminal(true);
    const progress = progressLine(out, () => t, (text) => drawn.push(text));
    t = 2000;
    progress.update(10 * MB, 40 * MB, 1, 3, 'w/0/model.bin');
    t = 2050;
    progress.update(11 * MB, 40 * MB, 1, 3, 'w/0/model.bin'); // within 100 ms: not redrawn
    t = 4000;
    progress.finish();
    expect(drawn[0]).toMatch(/^\r\x1b\[2K\S 25% - 5\.0MB\/s - w\/0\/model\.bin \(10\.0MB\/40\.0MB\) \(1\/3 files\)$/);
    expect(drawn).toHaveLength(2);
    expect(out.lines).toEqual(['\u2713 Upload completed in 4.0 seconds']);
  });

  it('prints only the final line when not on a terminal', () => {
    const drawn: string[] = [];
    const out = terminal(false);
    const progress = progressLine(out, () => 1500, (text) => drawn.push(text));
    progress.update(1, 1, 1, 1, 'a');
    progress.finish();
    expect(drawn).toEqual([]);
    expect(out.lines).toEqual(['\u2713 Upload completed in 0.0 seconds']);
  });
});

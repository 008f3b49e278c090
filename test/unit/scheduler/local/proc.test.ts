import { describe, expect, it } from 'vitest';
import { isSameProcessAlive, parseProcStat, readProcStat } from '../../../../src/scheduler/local/proc.js';

describe('parseProcStat', () => {
  it.each([
    { name: 'a plain command name', text: '42 (node) S 1 42 42 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 987654 1000 10', state: 'S', startTime: 987654 },
    {
      name: 'a command name with spaces and parentheses',
      text: '42 (my (odd) name) R 1 42 42 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 123 1000 10',
      state: 'R',
      startTime: 123,
    },
    { name: 'a zombie', text: '7 (x) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0', state: 'Z', startTime: 55 },
  ])('reads state and start time from $name', ({ text, state, startTime }) => {
    expect(parseProcStat(text)).toEqual({ state, startTime });
  });

  it('reads this process and tells a different start time apart', () => {
    const stat = readProcStat(process.pid)!;
    expect(stat.startTime).toBeGreaterThan(0);
    expect(isSameProcessAlive(process.pid, stat.startTime)).toBe(true);
    expect(isSameProcessAlive(process.pid, stat.startTime + 1)).toBe(false);
  });
});

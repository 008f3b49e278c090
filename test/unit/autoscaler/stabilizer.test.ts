import { describe, expect, it } from 'vitest';
import { Stabilizer } from '../../../src/autoscaler/stabilizer.js';

describe('Stabilizer', () => {
  it('scales up at once', () => {
    const s = new Stabilizer(60_000);
    expect(s.settle(0, 1, 1)).toBe(1);
    expect(s.settle(1_000, 5, 1)).toBe(5);
  });

  it('scales down only after the window, to the highest count recommended within it', () => {
    const s = new Stabilizer(60_000);
    s.settle(0, 4, 4);
    expect(s.settle(10_000, 2, 4)).toBe(4);
    expect(s.settle(30_000, 1, 4)).toBe(4);
    expect(s.settle(60_001, 1, 4)).toBe(2); // the 4 at t=0 left the window; the 2 at t=10 s has not
    expect(s.settle(70_001, 1, 2)).toBe(1);
    expect(s.settle(90_001, 0, 1)).toBe(1);
    expect(s.settle(150_002, 0, 1)).toBe(0);
  });

  it('waits one window after it starts before any scale-down (a new leader)', () => {
    const s = new Stabilizer(60_000);
    expect(s.settle(0, 0, 3)).toBe(3);
    expect(s.settle(59_000, 0, 3)).toBe(3);
    expect(s.settle(60_001, 0, 3)).toBe(0);
  });

  it('a burst inside the window restarts the wait', () => {
    const s = new Stabilizer(60_000);
    s.settle(0, 2, 2);
    expect(s.settle(40_000, 0, 2)).toBe(2);
    expect(s.settle(50_000, 2, 2)).toBe(2);
    expect(s.settle(100_000, 0, 2)).toBe(2);
    expect(s.heldUntil(0)).toBe(110_000);
    expect(s.settle(110_001, 0, 2)).toBe(0);
  });

  it('a window of 0 scales down at once', () => {
    const s = new Stabilizer(0);
    s.settle(0, 3, 3);
    expect(s.settle(1, 1, 3)).toBe(1);
  });
});

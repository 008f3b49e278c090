import { describe, expect, it } from 'vitest';
import { DEFAULT_RESTART_POLICY, RestartTracker } from '../../../../src/scheduler/local/backoff.js';

const MIN = 60_000;

describe('RestartTracker', () => {
  it.each([
    { name: 'doubles from 1 s', exits: [[0, 100], [2_000, 100], [5_000, 100], [10_000, 100]], delays: [1000, 2000, 4000, 8000] },
    {
      name: 'caps the delay at 60 s',
      exits: Array.from({ length: 9 }, (_, i) => [i * 70_000, 100]),
      delays: [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000],
    },
    { name: 'starts over after a run of 10 minutes', exits: [[0, 100], [2_000, 100], [700_000, 10 * MIN]], delays: [1000, 2000, 1000] },
  ])('$name', ({ exits, delays }) => {
    const tracker = new RestartTracker(DEFAULT_RESTART_POLICY);
    expect(exits.map(([at, ran]) => tracker.recordExit(at!, ran!).delayMs)).toEqual(delays);
  });

  it.each([
    { name: 'is a crash loop at the third exit within 10 minutes', at: [0, 60_000, 120_000], loops: [false, false, true] },
    { name: 'is not one when the exits are spread over more than 10 minutes', at: [0, 6 * MIN, 12 * MIN], loops: [false, false, false] },
    { name: 'stays one while exits keep coming', at: [0, 1000, 3000, 7000], loops: [false, false, true, true] },
  ])('$name', ({ at, loops }) => {
    const tracker = new RestartTracker(DEFAULT_RESTART_POLICY);
    expect(at.map((t) => tracker.recordExit(t, 500).crashLoop)).toEqual(loops);
  });

  it('counts the exits inside the window', () => {
    const tracker = new RestartTracker(DEFAULT_RESTART_POLICY);
    tracker.recordExit(0, 10);
    tracker.recordExit(11 * MIN, 10);
    expect(tracker.recordExit(12 * MIN, 10).recentExits).toBe(2);
  });

  it('spaces failed preparation retries on the same doubling scale', () => {
    const tracker = new RestartTracker({ ...DEFAULT_RESTART_POLICY, initialDelayMs: 100, maxDelayMs: 500 });
    expect([1, 2, 3, 4].map(() => tracker.nextRetryDelay())).toEqual([100, 200, 400, 500]);
  });
});

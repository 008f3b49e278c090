/** Time source, injected so tests can move it (signed URL expiry, key ages). */
export interface Clock {
  now(): number;
  /**
   * Milliseconds on a clock that never jumps (deadlines inside one process: leases); a clock without it
   * (a test's fake) uses `now()`.
   */
  monotonic?(): number;
}

export const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };

/** The clock's monotonic reading, or its wall-clock one when it has none. */
export function monotonicNow(clock: Clock): number {
  return clock.monotonic ? clock.monotonic() : clock.now();
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

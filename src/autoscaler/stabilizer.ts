/**
 * The scale-down stabilization window (compat.md §8.16): a scale-up acts at once, a scale-down goes only
 * as low as the highest count recommended over the last window, so a short lull does not stop replicas
 * that the next burst needs. Pure apart from the times it is given.
 */
export class Stabilizer {
  private history: Array<{ at: number; count: number }> = [];

  /** @param windowMs how long a recommendation holds the count up (default: 60 s). */
  constructor(private readonly windowMs: number) {}

  /**
   * Records this round's recommendation and returns the count to act on. The first call also records
   * `current`, so a freshly started autoscaler (a new leader) waits one window before scaling down.
   */
  settle(now: number, recommended: number, current: number): number {
    if (this.history.length === 0) this.history.push({ at: now, count: current });
    this.history = this.history.filter((h) => h.at > now - this.windowMs);
    this.history.push({ at: now, count: recommended });
    if (recommended >= current) return recommended;
    const highest = Math.max(...this.history.map((h) => h.count));
    return Math.min(current, highest);
  }

  /** When the count may next go down to `recommended`, or undefined when nothing holds it up. */
  heldUntil(recommended: number): number | undefined {
    const holding = this.history.filter((h) => h.count > recommended);
    return holding.length ? Math.max(...holding.map((h) => h.at)) + this.windowMs : undefined;
  }
}

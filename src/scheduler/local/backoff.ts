/**
 * When to restart a replica whose process ended, and when to call it a crash loop. Pure: the caller
 * passes the times, so the rules are table-tested without waiting.
 *
 * - Delays double from `initialDelayMs` up to `maxDelayMs` (1 s, 2 s, 4 s … 60 s).
 * - A process that ran for `resetAfterMs` before ending starts the sequence again: it was healthy, so its
 *   exit is news, not a loop.
 * - `crashLoopExits` exits within `crashLoopWindowMs` make the replica `CrashLoopBackOff` (compat.md §8.15:
 *   three restarts within 10 minutes). It keeps being restarted with backoff, as Kubernetes does.
 */
export interface RestartPolicy {
  /** First delay after an exit (default: 1000). */
  initialDelayMs: number;
  /** Longest delay (default: 60000). */
  maxDelayMs: number;
  /** A run at least this long resets the delay (default: 600000, 10 minutes). */
  resetAfterMs: number;
  /** Exits within the window that make a crash loop (default: 3). */
  crashLoopExits: number;
  /** The crash-loop window (default: 600000, 10 minutes). */
  crashLoopWindowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  resetAfterMs: 600_000,
  crashLoopExits: 3,
  crashLoopWindowMs: 600_000,
};

export interface RestartDecision {
  delayMs: number;
  crashLoop: boolean;
  /** Exits counted in the crash-loop window, this one included. */
  recentExits: number;
}

export class RestartTracker {
  private attempt = 0;
  private exits: number[] = [];

  constructor(private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY) {}

  /** Records an exit at `at` of a process that had run for `ranForMs`, and says how to go on. */
  recordExit(at: number, ranForMs: number): RestartDecision {
    const { initialDelayMs, maxDelayMs, resetAfterMs, crashLoopExits, crashLoopWindowMs } = this.policy;
    if (ranForMs >= resetAfterMs) this.attempt = 0;
    const delayMs = Math.min(initialDelayMs * 2 ** this.attempt, maxDelayMs);
    this.attempt = Math.min(this.attempt + 1, 30);
    this.exits = [...this.exits.filter((t) => at - t < crashLoopWindowMs), at];
    return { delayMs, crashLoop: this.exits.length >= crashLoopExits, recentExits: this.exits.length };
  }

  /** Delay before the next try of a failed preparation step (pip), on the same doubling scale. */
  nextRetryDelay(): number {
    const delay = Math.min(this.policy.initialDelayMs * 2 ** this.attempt, this.policy.maxDelayMs);
    this.attempt = Math.min(this.attempt + 1, 30);
    return delay;
  }
}

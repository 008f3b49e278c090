import type { Clock } from '../shared/clock.js';

interface Sample {
  at: number;
  durationMs: number;
}

/** How many samples per deployment are kept at most (about an hour at 3 requests/s). */
const MAX_SAMPLES = 10_000;

/**
 * Direct-HTTP requests per deployment over a sliding window: the input of the HTTPTotalRequests and
 * HTTPAvgRequestDuration autoscaling metrics (compat.md §6, §8.16), measured at Gantry's own proxy.
 */
export class RequestStats {
  private readonly samples = new Map<string, Sample[]>();

  constructor(private readonly clock: Clock) {}

  record(deploymentId: string, durationMs: number): void {
    const list = this.samples.get(deploymentId) ?? [];
    list.push({ at: this.clock.now(), durationMs });
    if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES);
    this.samples.set(deploymentId, list);
  }

  /** Requests and their mean duration over the last `minutes`. */
  window(deploymentId: string, minutes: number): { count: number; avgDurationMs: number } {
    const since = this.clock.now() - minutes * 60_000;
    const recent = (this.samples.get(deploymentId) ?? []).filter((s) => s.at >= since);
    const total = recent.reduce((sum, s) => sum + s.durationMs, 0);
    return { count: recent.length, avgDurationMs: recent.length ? total / recent.length : 0 };
  }

  forget(deploymentId: string): void {
    this.samples.delete(deploymentId);
  }
}

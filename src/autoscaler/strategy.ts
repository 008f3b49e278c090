import type { Autoscaling } from '../deployments/types.js';

/**
 * The autoscaler's pure strategy (compat.md §6, §8.16): from what was observed to a replica count and a
 * human-readable reason. No clock, no I/O: the loop (`autoscaler.ts`) gathers the observation, applies
 * the stabilization window (`stabilizer.ts`) and the drain (`drain.ts`).
 */

/** What the metric of a deployment's policy measured this round. */
export type Observation =
  /** The custom metric averaged over the `replicas` healthy replicas that answered. */
  | { kind: 'custom'; average: number; replicas: number }
  /** Direct-HTTP requests over the policy's interval and their mean duration (Gantry's own proxy). */
  | { kind: 'http'; requests: number; avgDurationMs: number; replicas: number }
  /** Nothing usable was measured: keep the current count and say why. */
  | { kind: 'unavailable'; why: string }
  /** The policy needs nothing beyond the queue depth (QueueBacklogPerWorker, or autoscaling off). */
  | { kind: 'queue' };

export interface DecideInput {
  /** The deployment's autoscaling block; null means off (§8.25). */
  policy: Autoscaling | null;
  min: number;
  max: number;
  /** The desired count now. */
  current: number;
  /** Pending + running jobs (priority ignored). */
  queueDepth: number;
  observation: Observation;
  /** A submit or a direct request reached the deployment while it had no replica (scale from zero). */
  woken: boolean;
}

export interface Recommendation {
  /** The count to run, within [min, max]. */
  count: number;
  /** The count the metric asked for before the clamps. */
  raw: number;
  reason: string;
  /** Set when the metric could not be read: `count` is the current count, kept. */
  held?: string;
}

/** Counts are rounded up; this absorbs float error such as 7 / 0.7 = 10.000000000000002. */
const EPSILON = 1e-9;

/** ceil(depth / target): target jobs per worker (QueueBacklogPerWorker). */
export function queueBacklogPerWorker(depth: number, target: number): number {
  return Math.max(0, Math.ceil(depth / target - EPSILON));
}

/** ceil(replicas × average / target): the replicas that bring the average to the target (CustomMetric). */
export function customMetric(replicas: number, average: number, target: number): number {
  return Math.max(0, Math.ceil((replicas * average) / target - EPSILON));
}

/** ceil(requests / target): target requests per replica over the interval (HTTPTotalRequests). */
export function httpTotalRequests(requests: number, target: number): number {
  return Math.max(0, Math.ceil(requests / target - EPSILON));
}

/** ceil(replicas × mean duration / target duration); no request in the interval asks for none. */
export function httpAvgRequestDuration(replicas: number, avgDurationMs: number, requests: number, target: number): number {
  if (requests === 0) return 0;
  return Math.max(1, Math.ceil((Math.max(1, replicas) * avgDurationMs) / target - EPSILON));
}

/** The replica count a deployment should run, and why. */
export function decide(input: DecideInput): Recommendation {
  if (input.observation.kind === 'unavailable') return hold(input, input.observation.why);
  const metric = metricCount(input);
  if (!metric) return hold(input, 'the policy has no measurement yet');
  // Work waiting or running, or a request at zero, needs at least one replica whatever the metric says.
  const demand = input.queueDepth > 0 || input.woken;
  const raw = demand ? Math.max(metric.count, 1) : metric.count;
  const why = demand && metric.count < 1 ? `${metric.why}; ${demandWhy(input)}` : metric.why;
  return clamp(raw, input.min, input.max, why);
}

/** The count the policy's own metric asks for. */
function metricCount(input: DecideInput): { count: number; why: string } | undefined {
  const { policy, observation: o, queueDepth } = input;
  if (!policy) return { count: input.min, why: 'autoscaling is off: min_replicas' };
  if (policy.metric === 'QueueBacklogPerWorker') {
    return { count: queueBacklogPerWorker(queueDepth, policy.target), why: `queue depth ${queueDepth} / target ${policy.target}` };
  }
  if (policy.metric === 'CustomMetric' && o.kind === 'custom') {
    const why = `${policy.custom_metric_name} averages ${round(o.average)} over ${o.replicas} replica(s), target ${policy.target}`;
    return { count: customMetric(o.replicas, o.average, policy.target), why };
  }
  if (policy.metric === 'HTTPTotalRequests' && o.kind === 'http') {
    const why = `${o.requests} request(s) in ${policy.time_interval_minutes} min / target ${policy.target}`;
    return { count: httpTotalRequests(o.requests, policy.target), why };
  }
  if (policy.metric === 'HTTPAvgRequestDuration' && o.kind === 'http') {
    const why = `mean request duration ${round(o.avgDurationMs)} ms over ${o.replicas} replica(s), target ${policy.target} ms`;
    return { count: httpAvgRequestDuration(o.replicas, o.avgDurationMs, o.requests, policy.target), why };
  }
  return undefined;
}

function demandWhy(input: DecideInput): string {
  return input.queueDepth > 0 ? `${input.queueDepth} job(s) queued or running need a replica` : 'a request arrived at zero replicas';
}

/** Clamps to [min, max] and says so (e.g. "7 → 4, capped by max_replicas"). */
export function clamp(raw: number, min: number, max: number, why: string): Recommendation {
  if (raw > max) return { count: max, raw, reason: `${why}: ${raw} → ${max}, capped by max_replicas` };
  if (raw < min) return { count: min, raw, reason: `${why}: ${raw} → ${min}, raised to min_replicas` };
  return { count: raw, raw, reason: `${why}: ${raw}` };
}

/** Keeps the current count when nothing was measured, except that demand at zero still gets a replica. */
function hold(input: DecideInput, why: string): Recommendation {
  const kept = Math.min(input.max, Math.max(input.min, input.current));
  if (kept < 1 && (input.queueDepth > 0 || input.woken)) return { ...clamp(1, input.min, input.max, demandWhy(input)), held: why };
  return { count: kept, raw: kept, reason: `kept ${kept}: ${why}`, held: why };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

import { describe, expect, it } from 'vitest';
import {
  clamp,
  customMetric,
  decide,
  httpAvgRequestDuration,
  httpTotalRequests,
  queueBacklogPerWorker,
  type DecideInput,
} from '../../../src/autoscaler/strategy.js';

const queuePolicy = (target: number) => ({ metric: 'QueueBacklogPerWorker' as const, target, model: 'm' });
const customPolicy = { metric: 'CustomMetric' as const, target: 80, custom_metric_name: 'vllm:num_requests_running' };
const totalPolicy = { metric: 'HTTPTotalRequests' as const, target: 100, time_interval_minutes: 10 };
const durationPolicy = { metric: 'HTTPAvgRequestDuration' as const, target: 500, time_interval_minutes: 10 };

const base: DecideInput = { policy: queuePolicy(1), min: 0, max: 10, current: 1, queueDepth: 0, observation: { kind: 'queue' }, woken: false };

describe('queueBacklogPerWorker', () => {
  it.each([
    { name: 'target 1.0 is exact', depth: 4, target: 1, want: 4 },
    { name: 'the default 1.01 rounds up', depth: 20, target: 1.01, want: 20 },
    { name: '1.05 under-provisions slightly (100 jobs → 96, ceil)', depth: 100, target: 1.05, want: 96 },
    { name: '0.9 over-provisions', depth: 9, target: 0.9, want: 10 },
    { name: 'float error does not add a replica (7 / 0.7)', depth: 7, target: 0.7, want: 10 },
    { name: 'an empty queue asks for none', depth: 0, target: 1.01, want: 0 },
    { name: 'several jobs per worker', depth: 9, target: 4, want: 3 },
  ])('$name', ({ depth, target, want }) => {
    expect(queueBacklogPerWorker(depth, target)).toBe(want);
  });
});

describe('customMetric, httpTotalRequests, httpAvgRequestDuration', () => {
  it.each([
    { name: 'custom: 4 replicas at 100 with target 80 → 5', got: customMetric(4, 100, 80), want: 5 },
    { name: 'custom: 4 replicas at 20 with target 80 → 1', got: customMetric(4, 20, 80), want: 1 },
    { name: 'custom: an idle metric asks for none', got: customMetric(3, 0, 80), want: 0 },
    { name: 'total: 250 requests, 100 per replica → 3', got: httpTotalRequests(250, 100), want: 3 },
    { name: 'total: no requests → 0', got: httpTotalRequests(0, 100), want: 0 },
    { name: 'duration: 2 replicas at 1000 ms for 500 ms → 4', got: httpAvgRequestDuration(2, 1000, 10, 500), want: 4 },
    { name: 'duration: fast requests keep one replica', got: httpAvgRequestDuration(2, 10, 10, 500), want: 1 },
    { name: 'duration: no requests → 0', got: httpAvgRequestDuration(2, 0, 0, 500), want: 0 },
    { name: 'duration: counted from one replica when none is ready', got: httpAvgRequestDuration(0, 1500, 3, 500), want: 3 },
  ])('$name', ({ got, want }) => {
    expect(got).toBe(want);
  });
});

describe('decide', () => {
  it.each<{ name: string; input: Partial<DecideInput>; count: number; raw?: number; reason?: RegExp; held?: boolean }>([
    { name: 'QueueBacklogPerWorker follows the depth', input: { queueDepth: 3 }, count: 3, reason: /queue depth 3 \/ target 1: 3/ },
    { name: 'the count is capped by max_replicas', input: { queueDepth: 7, max: 4 }, count: 4, raw: 7, reason: /7 → 4, capped by max_replicas/ },
    { name: 'the count is raised to min_replicas', input: { queueDepth: 0, min: 2 }, count: 2, raw: 0, reason: /0 → 2, raised to min_replicas/ },
    { name: 'an idle queue scales to zero when min is 0', input: { queueDepth: 0, current: 3 }, count: 0 },
    { name: 'a submit at zero scales from zero', input: { queueDepth: 1, current: 0 }, count: 1 },
    { name: 'a request at zero scales from zero (HTTP policy, no samples yet)', input: { policy: totalPolicy, current: 0, woken: true, observation: { kind: 'http', requests: 0, avgDurationMs: 0, replicas: 0 } }, count: 1, reason: /a request arrived at zero replicas/ },
    { name: 'autoscaling off runs min_replicas', input: { policy: null, min: 2, max: 2, queueDepth: 50 }, count: 2, reason: /autoscaling is off/ },
    { name: 'autoscaling off with min 0 still wakes for a queued job', input: { policy: null, min: 0, max: 3, queueDepth: 2, current: 0 }, count: 1 },
    { name: 'CustomMetric averages over the replicas that answered', input: { policy: customPolicy, current: 4, observation: { kind: 'custom', average: 100, replicas: 4 } }, count: 5, reason: /vllm:num_requests_running averages 100 over 4 replica/ },
    { name: 'CustomMetric keeps a replica while jobs are queued', input: { policy: customPolicy, current: 2, queueDepth: 3, observation: { kind: 'custom', average: 0, replicas: 2 } }, count: 1, reason: /3 job\(s\) queued or running need a replica/ },
    { name: 'HTTPTotalRequests divides the window by the target', input: { policy: totalPolicy, current: 1, observation: { kind: 'http', requests: 450, avgDurationMs: 20, replicas: 1 } }, count: 5 },
    { name: 'HTTPAvgRequestDuration is proportional', input: { policy: durationPolicy, current: 2, observation: { kind: 'http', requests: 40, avgDurationMs: 750, replicas: 2 } }, count: 3 },
    { name: 'an unreadable metric keeps the current count', input: { policy: customPolicy, current: 3, observation: { kind: 'unavailable', why: 'replica a: /metrics timed out' } }, count: 3, held: true, reason: /kept 3: replica a: \/metrics timed out/ },
    { name: 'an unreadable metric at zero still wakes for a queued job', input: { policy: customPolicy, current: 0, queueDepth: 1, observation: { kind: 'unavailable', why: 'no ready replica to scrape' } }, count: 1, held: true },
    { name: 'a kept count is still clamped after a PATCH lowered max', input: { policy: customPolicy, current: 6, max: 4, observation: { kind: 'unavailable', why: 'down' } }, count: 4, held: true },
    { name: 'a policy measured by the wrong kind is held, not guessed', input: { policy: customPolicy, current: 2, observation: { kind: 'queue' } }, count: 2, held: true },
  ])('$name', ({ input, count, raw, reason, held }) => {
    const rec = decide({ ...base, ...input });
    expect(rec.count).toBe(count);
    if (raw !== undefined) expect(rec.raw).toBe(raw);
    if (reason) expect(rec.reason).toMatch(reason);
    expect(rec.held !== undefined).toBe(held ?? false);
  });

  it('clamp says nothing about capping when the count fits', () => {
    expect(clamp(3, 1, 4, 'why')).toEqual({ count: 3, raw: 3, reason: 'why: 3' });
  });
});

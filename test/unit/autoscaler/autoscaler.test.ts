import { afterEach, describe, expect, it } from 'vitest';
import type { MetricsFetcher } from '../../../src/autoscaler/custom-metric.js';
import { AutoscalerSim, type SimOptions } from '../../helpers/autoscaler-sim.js';

/** The Autoscaler loop against the real queue in the deterministic simulation (fake clock). */
describe('Autoscaler', () => {
  let sim: AutoscalerSim | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });
  const start = async (options: SimOptions) => (sim = await AutoscalerSim.create(options));
  const kinds = async (s: AutoscalerSim) => (await s.events.list(s.deploymentId)).map((e) => e.event);

  it('scales from zero at the first submit, with no tick delay', async () => {
    const s = await start({ min: 0, max: 4, startupMs: 30_000, intervalMs: 1_000 });
    await s.run(500);
    await s.submit(1, 1_000);
    expect(s.scheduler.scaleCalls).toEqual([{ at: s.clock.now(), count: 1 }]);
    expect(s.report().reactionMs).toEqual([0]);
  });

  it('scales a burst up to max_replicas at once, and back to zero after the window without losing a claim', async () => {
    const s = await start({ min: 0, max: 4, startupMs: 2_000, stabilizationMs: 10_000 });
    await s.submit(20, 1_000);
    expect(s.scheduler.liveCount()).toBe(4);
    const last = (await s.events.list(s.deploymentId)).at(-1)!;
    expect(last).toMatchObject({ event: 'ScaleUp', to: 4 });
    expect(last.reason).toMatch(/capped by max_replicas/);
    await s.run(60_000);
    const report = s.report();
    expect(report.jobsDone).toBe(20);
    expect(report.lostClaims).toBe(0);
    expect(s.scheduler.liveCount()).toBe(0);
    expect(report.reactionMs.every((ms) => ms <= 1_000)).toBe(true);
  });

  it('waits for the stabilization window before scaling down', async () => {
    const s = await start({ min: 0, max: 2, initial: 2, stabilizationMs: 30_000 });
    await s.run(29_000);
    expect(s.scheduler.liveCount()).toBe(2);
    await s.run(2_000);
    expect(s.scheduler.liveCount()).toBe(0);
    expect(await kinds(s)).toEqual(['ScaleDown']);
  });

  it('never goes below min_replicas', async () => {
    const s = await start({ min: 1, max: 3, initial: 3, stabilizationMs: 1_000 });
    await s.run(10_000);
    expect(s.scheduler.scaleCalls.map((c) => c.count)).toEqual([1]);
  });

  it('drains a busy replica before stopping it: no new job for it, and the count waits for its job', async () => {
    const s = await start({ min: 0, max: 4, initial: 4, stabilizationMs: 2_000 });
    await s.submit(3, 500);
    await s.submit(1, 20_000); // the fourth replica, first in the scale-down order, takes the long job
    await s.run(5_000);
    expect(s.scheduler.liveCount()).toBe(4);
    const draining = (await s.events.list(s.deploymentId)).find((e) => e.event === 'Draining');
    expect(draining?.replicas).toContain('sim-3');
    expect(s.queue.claimsHeldBy(s.deploymentId, 'sim-3')).toBe(1);
    await s.run(20_000);
    expect(s.report().lostClaims).toBe(0);
    await s.run(5_000);
    expect(s.scheduler.liveCount()).toBe(0);
    expect(await kinds(s)).toContain('ScaleDown');
  });

  it('un-drains when load comes back before the drained replicas were stopped', async () => {
    const s = await start({ min: 0, max: 2, initial: 2, stabilizationMs: 2_000 });
    await s.submit(1, 1_000);
    await s.submit(1, 10_000); // keeps sim-1 busy, so the scale-down waits
    await s.run(4_000);
    expect(await kinds(s)).toContain('Draining');
    await s.submit(6, 1_000);
    expect(await kinds(s)).toContain('DrainCanceled');
    await s.run(12_000);
    expect(s.report().jobsDone).toBe(8);
    expect(s.report().lostClaims).toBe(0);
  });

  it('keeps the last count and records why when the metric endpoint is down or returns garbage', async () => {
    // A load of 3 shared by the replicas: each reports 3 / replicas.
    let answer: () => Promise<string> = async () => `load ${3 / (sim?.scheduler.liveCount() ?? 1)}\n`;
    const fetcher: MetricsFetcher = async () => answer();
    const policy = { metric: 'CustomMetric' as const, target: 1, custom_metric_name: 'load' };
    const s = await start({ min: 1, max: 5, initial: 1, policy, fetcher, stabilizationMs: 1_000 });
    await s.run(3_000);
    expect(s.scheduler.liveCount()).toBe(3); // 1 replica × 3 / 1, then 3 × 1 / 1: stable
    answer = async () => '<html>bad gateway</html>';
    await s.run(5_000);
    answer = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    await s.run(5_000);
    expect(s.scheduler.liveCount()).toBe(3);
    // Recorded once per distinct trouble, not every tick; each replica counts with its last good value.
    const unavailable = (await s.events.list(s.deploymentId)).filter((e) => e.event === 'MetricUnavailable');
    expect(unavailable.map((e) => e.to)).toEqual([3, 3]);
    expect(unavailable[0]!.reason).toMatch(/\/metrics has no metric load; kept its last value 1/);
    expect(unavailable[1]!.reason).toMatch(/\/metrics connect ECONNREFUSED; kept its last value 1/);
    answer = async () => 'load 2\n';
    await s.run(2_000);
    expect(s.scheduler.liveCount()).toBe(5); // readable again: 3 × 2 / 1 = 6, capped
  });

  it('a metric that is down from the start keeps the configured count', async () => {
    const fetcher: MetricsFetcher = async () => {
      throw new Error('down');
    };
    const policy = { metric: 'CustomMetric' as const, target: 1, custom_metric_name: 'load' };
    const s = await start({ min: 0, max: 5, initial: 2, policy, fetcher, stabilizationMs: 1_000 });
    await s.run(10_000);
    expect(s.scheduler.liveCount()).toBe(2);
    expect((await s.events.list(s.deploymentId))[0]?.reason).toMatch(/no replica answered with load: .*down/);
  });

  it('scales on direct-HTTP request counts', async () => {
    const policy = { metric: 'HTTPTotalRequests' as const, target: 10, time_interval_minutes: 1 };
    const s = await start({ min: 0, max: 5, initial: 1, policy, stabilizationMs: 5_000 });
    for (let i = 0; i < 35; i++) s.request(20);
    await s.run(1_000);
    expect(s.scheduler.liveCount()).toBe(4);
    await s.run(70_000); // the requests leave the 1-minute interval, then the window passes
    expect(s.scheduler.liveCount()).toBe(0);
  });

  it('stops on close (un-draining every replica) and starts again as a new leader would', async () => {
    const s = await start({ min: 0, max: 2, initial: 2, stabilizationMs: 1_000 });
    await s.submit(1, 1_000);
    await s.submit(1, 60_000);
    await s.run(3_000);
    expect(await kinds(s)).toContain('Draining');
    await s.autoscaler.close();
    expect(s.autoscaler.isRunning).toBe(false);
    await s.submit(5, 1_000);
    expect(s.scheduler.liveCount()).toBe(2); // a closed autoscaler makes no call
    await s.autoscaler.start();
    await s.run(200);
    expect(s.queue.claimsHeldBy(s.deploymentId, 'sim-0')).toBe(1); // un-drained replicas took jobs
  });

  it('stops when the leadership signal it was started with aborts', async () => {
    const s = await start({ min: 0, max: 2 });
    await s.autoscaler.close();
    const leadership = new AbortController();
    await s.autoscaler.start(leadership.signal);
    expect(s.autoscaler.isRunning).toBe(true);
    leadership.abort();
    expect(s.autoscaler.isRunning).toBe(false);
    await s.submit(1, 1_000);
    expect(s.scheduler.scaleCalls).toEqual([]);
  });

  it('reacts only on its tick without queue events (the usual 10 s alternative)', async () => {
    const s = await start({ min: 0, max: 4, eventDriven: false, intervalMs: 10_000 });
    await s.run(3_000);
    await s.submit(1, 1_000);
    await s.run(10_000);
    expect(s.report().reactionMs).toEqual([7_000]);
  });
});

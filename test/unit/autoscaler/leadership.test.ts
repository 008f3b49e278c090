import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Autoscaler } from '../../../src/autoscaler/autoscaler.js';
import { registerAutoscalerMetrics } from '../../../src/autoscaler/metrics.js';
import { ScalingEvents } from '../../../src/autoscaler/scaling-events.js';
import type { Leadership } from '../../../src/coordinator/coordinator.js';
import type { ReplicaStatus } from '../../../src/scheduler/scheduler.js';
import { createLogger } from '../../../src/shared/logger.js';
import { MemoryScheduler } from '../../doubles/memory-scheduler.js';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

/** A MemoryScheduler whose replica listings can be held open (an evaluation paused at its first step). */
class GatedScheduler extends MemoryScheduler {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  held = 0;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  override async replicas(deploymentId: string): Promise<ReplicaStatus[]> {
    if (this.gate) {
      this.held++;
      await this.gate;
    }
    return super.replicas(deploymentId);
  }
}

/**
 * The autoscaler as a cluster leader runs it (its own instance over the server's real deployments, queue
 * and StateStore), with a leadership's signal and fence; the server's own autoscaler is stopped.
 */
describe('the autoscaler under a leadership', () => {
  let server: TestServer;
  let scheduler: GatedScheduler;
  let autoscaler: Autoscaler | undefined;
  afterEach(async () => {
    scheduler.release();
    await autoscaler?.close();
    await server.close();
  });

  async function setup(): Promise<string> {
    scheduler = new GatedScheduler();
    server = await createTestServer({ scheduler });
    await server.deps.autoscaler.close();
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/deployments',
      headers: server.auth,
      payload: { name: 'fenced', image: 'img', gpu_type: 'none', min_replicas: 0, max_replicas: 3, autoscaling: { metric: 'QueueBacklogPerWorker', target: 1 } },
    });
    expect(created.statusCode).toBe(200);
    const id = created.json().id as string;
    for (let i = 0; i < 2; i++) await server.deps.queue.submit({ deploymentId: id, model: 'fenced', payload: {}, info: {}, priority: 0, maxRetries: 3 });
    return id;
  }

  function build(): Autoscaler {
    const d = server.deps;
    autoscaler = new Autoscaler({
      deployments: d.deployments,
      scheduler,
      discovery: d.discovery,
      queue: d.queue,
      requests: d.requestStats,
      events: new ScalingEvents(d.state),
      metrics: registerAutoscalerMetrics(new Registry()),
      clock: d.clock,
      logger: createLogger({ level: 'silent' }),
      settings: { intervalMs: 3_600_000, stabilizationMs: 60_000 },
    });
    return autoscaler;
  }

  /** A fence on a `leader` key, as the Consul coordinator hands out, and a way to depose it. */
  async function leadershipFence(): Promise<{ fence: NonNullable<Leadership['fence']>; depose: () => Promise<void> }> {
    const index = await server.deps.state.put('leader', 'https://this-replica');
    return { fence: { verb: 'check-index', key: 'leader', index }, depose: async () => void (await server.deps.state.put('leader', 'https://next-leader')) };
  }

  const desired = async (id: string) => (await server.deps.deployments.record(id)).desired_replicas;
  const scalingEvents = async (id: string) => (await server.deps.state.get(`autoscaler/events/${id}`))?.value;

  it('writes the count and scales while its fence holds', async () => {
    const id = await setup();
    const { fence } = await leadershipFence();
    await build().start(new AbortController().signal, fence);
    await autoscaler!.nudge(id);
    expect(await desired(id)).toBe(2);
    expect(scheduler.scaleCalls).toEqual([{ deploymentId: id, count: 2 }]);
    expect(await scalingEvents(id)).toContain('ScaleUp');
  });

  it('a deposed leader that has not heard of it yet writes nothing and scales nothing: its writes are fenced', async () => {
    const id = await setup();
    const { fence, depose } = await leadershipFence();
    await depose();
    await build().start(new AbortController().signal, fence);
    await autoscaler!.nudge(id);
    expect(await desired(id)).toBe(0);
    expect(scheduler.scaleCalls).toEqual([]);
    expect(await scalingEvents(id)).toBeUndefined();
  });

  it('an evaluation in progress when leadership is lost stops without writing or scaling', async () => {
    const id = await setup();
    const { fence } = await leadershipFence();
    const leadership = new AbortController();
    scheduler.hold();
    const starting = build().start(leadership.signal, fence);
    await until(() => scheduler.held > 0);
    leadership.abort(new Error('leadership lost'));
    scheduler.release();
    await starting;
    await autoscaler!.settled();
    expect(await desired(id)).toBe(0);
    expect(scheduler.scaleCalls).toEqual([]);
    expect(await scalingEvents(id)).toBeUndefined();
  });
});

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

import { describe, expect, it } from 'vitest';
import type { Leadership } from '../../../src/coordinator/coordinator.js';
import { LeadershipRunner, type LeaderWork } from '../../../src/coordinator/leadership.js';
import { SingleNodeCoordinator } from '../../../src/coordinator/single-node/single-node-coordinator.js';
import { createLogger } from '../../../src/shared/logger.js';
import { ManualCoordinator } from '../../doubles/manual-coordinator.js';

/** Leader-only work that records its calls; a start can be held open or made to fail. */
class RecordingWork implements LeaderWork {
  readonly calls: string[] = [];
  signal: AbortSignal | undefined;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  private failures = 0;

  constructor(
    private readonly name: string,
    private readonly log: string[],
  ) {}

  async start({ signal }: Leadership): Promise<void> {
    this.note('start');
    this.signal = signal;
    if (this.failures > 0 && this.failures--) throw new Error(`${this.name} cannot start`);
    await this.gate;
  }

  stop(): void {
    this.note('stop');
  }

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  failNext(times = 1): void {
    this.failures = times;
  }

  private note(what: string): void {
    this.calls.push(what);
    this.log.push(`${this.name}:${what}`);
  }
}

const logger = createLogger({ level: 'silent' });

function setup() {
  const log: string[] = [];
  const coordinator = new ManualCoordinator();
  const queue = new RecordingWork('queue', log);
  const autoscaler = new RecordingWork('autoscaler', log);
  const runner = new LeadershipRunner({ coordinator: () => coordinator, work: [queue, autoscaler], logger, retryMs: 10 });
  return { log, coordinator, queue, autoscaler, runner };
}

describe('LeadershipRunner', () => {
  it('starts the queue then the autoscaler with the leadership signal when leadership is won', async () => {
    const { log, coordinator, queue, autoscaler, runner } = setup();
    await runner.start();
    expect(log).toEqual([]);
    expect(runner.leads()).toBe(false);
    const leadership = coordinator.win();
    await runner.settled();
    expect(log).toEqual(['queue:start', 'autoscaler:start']);
    expect(queue.signal).toBe(leadership.signal);
    expect(autoscaler.signal).toBe(leadership.signal);
    expect(runner.leads()).toBe(true);
    expect(runner.leaderUrl()).toBe('https://self.test');
  });

  it('stops the work at once, in reverse order, when leadership is lost', async () => {
    const { log, coordinator, runner } = setup();
    await runner.start();
    coordinator.win();
    await runner.settled();
    log.length = 0;
    coordinator.lose('session invalidated');
    // Synchronously: no await between the event and the stops.
    expect(log).toEqual(['autoscaler:stop', 'queue:stop']);
    expect(runner.leads()).toBe(false);
  });

  it('does not start the autoscaler when leadership is lost while the queue rebuilds', async () => {
    const { coordinator, queue, autoscaler, runner } = setup();
    await runner.start();
    queue.hold();
    coordinator.win();
    await new Promise((r) => setTimeout(r, 10));
    coordinator.lose();
    queue.release();
    await runner.settled();
    expect(queue.calls).toEqual(['start', 'stop']);
    expect(autoscaler.calls).toEqual(['stop']);
  });

  it('starts again on winning again, after the earlier start finished', async () => {
    const { coordinator, queue, autoscaler, runner } = setup();
    await runner.start();
    coordinator.win();
    await runner.settled();
    coordinator.lose();
    const second = coordinator.win();
    await runner.settled();
    expect(queue.calls).toEqual(['start', 'stop', 'start']);
    expect(autoscaler.calls).toEqual(['start', 'stop', 'start']);
    expect(queue.signal).toBe(second.signal);
  });

  it('retries a failed start while it leads', async () => {
    const { coordinator, queue, autoscaler, runner } = setup();
    await runner.start();
    queue.failNext(2);
    coordinator.win();
    await runner.settled();
    expect(queue.calls).toEqual(['start', 'stop', 'start', 'stop', 'start']);
    expect(autoscaler.calls).toEqual(['stop', 'stop', 'start']);
  });

  it('forwards nowhere of its own: reports the leader another replica advertises', async () => {
    const { coordinator, runner } = setup();
    expect(runner.leaderUrl()).toBeUndefined();
    await runner.start();
    coordinator.follow('https://leader.test');
    expect(runner.leads()).toBe(false);
    expect(runner.leaderUrl()).toBe('https://leader.test');
  });

  it('on close stops the work and closes the coordinator; start builds the coordinator once', async () => {
    const { log, coordinator, runner } = setup();
    await runner.start();
    await runner.start();
    coordinator.win();
    await runner.settled();
    log.length = 0;
    await runner.close();
    expect(log.slice(0, 2)).toEqual(['autoscaler:stop', 'queue:stop']);
    expect(coordinator.calls).toEqual(['start', 'close']);
    expect(runner.leads()).toBe(false);
  });

  it('on the single node leads as soon as start() resolves, with the work started', async () => {
    const log: string[] = [];
    const work = [new RecordingWork('queue', log), new RecordingWork('autoscaler', log)];
    const runner = new LeadershipRunner({ coordinator: () => new SingleNodeCoordinator('https://only.test'), work, logger });
    await runner.start();
    expect(log).toEqual(['queue:start', 'autoscaler:start']);
    expect(runner.leads()).toBe(true);
    await runner.close();
    expect(log.slice(2, 4)).toEqual(['autoscaler:stop', 'queue:stop']);
  });
});

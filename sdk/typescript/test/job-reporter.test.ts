import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { UpdateOutcome } from '../src/api-client.js';
import { JobReporter } from '../src/job-reporter.js';
import type { JsonObject } from '../src/types.js';
import { recordingLogger } from './doubles/fake-worker-api.js';

/** A reporter whose updates are recorded; `answer` decides what the "server" says to each. */
function recordingReporter(options: { heartbeatMs?: number; infoIntervalMs?: number; answer?: () => UpdateOutcome } = {}) {
  const sent: (JsonObject | undefined)[] = [];
  let gone = 0;
  const reporter = new JobReporter({
    send: async (info) => {
      sent.push(info);
      return (options.answer ?? (() => 'ok'))();
    },
    onGone: () => gone++,
    heartbeatMs: options.heartbeatMs ?? 60_000,
    infoIntervalMs: options.infoIntervalMs ?? 100,
    log: recordingLogger(),
  });
  return { reporter, sent, gone: () => gone };
}

describe('JobReporter', () => {
  it('coalesces info emitted close together into one shallow-merged update', async () => {
    const { reporter, sent } = recordingReporter({ infoIntervalMs: 200 });
    reporter.start();
    reporter.addInfo({ step: 1, stage: 'load' });
    await sleep(20);
    reporter.addInfo({ step: 2 });
    reporter.addInfo({ step: 3 });
    await sleep(400);
    expect(sent[0]).toEqual({ step: 1, stage: 'load' });
    expect(sent[1]).toEqual({ step: 3 });
    expect(sent).toHaveLength(2);
    await reporter.stop();
  });

  it('sends plain heartbeats every heartbeatMs until stopped', async () => {
    const { reporter, sent } = recordingReporter({ heartbeatMs: 50 });
    reporter.start();
    await sleep(400);
    await reporter.stop();
    const count = sent.length;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(sent.every((info) => info === undefined)).toBe(true);
    await sleep(150);
    expect(sent).toHaveLength(count);
  });

  it('flushes pending info on stop, before it resolves', async () => {
    const { reporter, sent } = recordingReporter({ infoIntervalMs: 10_000 });
    reporter.start();
    reporter.addInfo({ a: 1 });
    reporter.addInfo({ b: 2 });
    await reporter.stop();
    expect(sent).toEqual([{ a: 1, b: 2 }]);
  });

  it('calls onGone once when the server no longer holds the job, and sends nothing after', async () => {
    const { reporter, sent, gone } = recordingReporter({ heartbeatMs: 30, answer: () => ({ code: 'GANTRY_ERR_JOB_CANCELED', message: 'canceled' }) });
    reporter.start();
    await sleep(200);
    reporter.addInfo({ late: true });
    await reporter.stop();
    expect(gone()).toBe(1);
    expect(sent).toHaveLength(1);
  });

  it('goes on through updates that are not delivered, and does not queue a heartbeat behind one still being retried', async () => {
    const sent: (JsonObject | undefined)[] = [];
    const stops: AbortSignal[] = [];
    const log = recordingLogger();
    let gone = 0;
    const reporter = new JobReporter({
      send: async (info, stopRetrying) => {
        sent.push(info);
        stops.push(stopRetrying);
        if (!stopRetrying.aborted) await new Promise((resolve) => stopRetrying.addEventListener('abort', resolve, { once: true })); // an outage
        return 'failed';
      },
      onGone: () => gone++,
      heartbeatMs: 20,
      infoIntervalMs: 10,
      log,
    });
    reporter.start();
    await sleep(300);
    expect(sent).toHaveLength(1); // 15 heartbeats fell due; one is being retried, one waits behind it
    const started = performance.now();
    await reporter.stop();
    expect(performance.now() - started).toBeLessThan(1_000); // stop() ends the retrying at once
    expect(stops.every((s) => s.aborted)).toBe(true);
    expect(sent).toHaveLength(1); // the heartbeat queued behind it is dropped: the job has ended
    expect(gone).toBe(0);
    expect(log.lines.some((l) => l.includes('a running update was not delivered; the job goes on'))).toBe(true);
  });

  it('refuses info over 4096 bytes of JSON', () => {
    const { reporter } = recordingReporter();
    expect(() => reporter.addInfo({ big: 'x'.repeat(5000) })).toThrow(RangeError);
  });
});

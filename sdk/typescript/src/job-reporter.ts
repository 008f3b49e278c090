import { isRefusal, type Refusal, type UpdateOutcome } from './api-client.js';
import type { Logger } from './log.js';
import { assertInfo, type InfoSink } from './progress.js';
import type { JsonObject } from './types.js';

export interface JobReporterOptions {
  /**
   * Posts a `running` update (with `info`, or none for a plain heartbeat), retrying it through an outage
   * until the next heartbeat is due; `stopRetrying` aborts when the job has ended.
   */
  send(info: JsonObject | undefined, stopRetrying: AbortSignal): Promise<UpdateOutcome>;
  /** Called once when the server answers that it no longer holds the job for this worker. */
  onGone(refusal: Refusal): void;
  heartbeatMs: number;
  infoIntervalMs: number;
  log: Logger;
}

/**
 * The `running` updates of one queue job: a heartbeat every `heartbeatMs` (it renews the lease, so leases
 * can be short), and emitted info coalesced into at most one update per `infoIntervalMs`. Updates go out
 * one at a time, in order. A 404/409 answer means the job is no longer this worker's: `onGone` fires.
 * An update that cannot be delivered (the control plane restarts, or fails over) is logged and the job
 * goes on; a heartbeat still being retried is not queued again.
 */
export class JobReporter implements InfoSink {
  private pending: JsonObject | undefined;
  private lastInfoAt = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private gone = false;
  private beatQueued = false;
  private readonly ended = new AbortController();

  constructor(private readonly options: JobReporterOptions) {}

  start(): void {
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
  }

  addInfo(info: JsonObject): void {
    assertInfo(info);
    this.pending = { ...this.pending, ...info };
    if (this.flushTimer) return;
    const wait = Math.max(0, this.lastInfoAt + this.options.infoIntervalMs - Date.now());
    this.flushTimer = setTimeout(() => this.flush(), wait);
  }

  /** Stops the heartbeat and sends any pending info, so it lands before the job's final status. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    clearTimeout(this.flushTimer);
    this.ended.abort();
    this.flush();
    await this.chain;
  }

  private beat(): void {
    if (this.beatQueued) return;
    this.beatQueued = true;
    this.enqueue(undefined);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const info = this.pending;
    this.pending = undefined;
    if (!info) return;
    this.lastInfoAt = Date.now();
    this.enqueue(info);
  }

  private enqueue(info: JsonObject | undefined): void {
    this.chain = this.chain.then(() => this.sendOne(info));
  }

  private async sendOne(info: JsonObject | undefined): Promise<void> {
    if (info === undefined) this.beatQueued = false;
    if (this.gone || (info === undefined && this.ended.signal.aborted)) return; // no heartbeat once the job ended
    const outcome = await this.options.send(info, this.ended.signal).catch((): UpdateOutcome => 'failed');
    if (outcome === 'failed') this.options.log.warn('a running update was not delivered; the job goes on');
    if (!isRefusal(outcome)) return;
    this.gone = true;
    clearInterval(this.heartbeat);
    this.options.onGone(outcome);
  }
}

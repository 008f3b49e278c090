import { EventEmitter } from 'node:events';
import type { ConsulClient, ServiceEntry } from '../../clients/consul/index.js';
import type { Logger } from '../../shared/logger.js';
import { sleep } from '../../shared/sleep.js';

/** A replica of a deployment that Consul reports with every check passing. */
export interface HealthyReplica {
  /** The Consul service ID (Nomad's `_nomad-task-<alloc id>-…`). */
  id: string;
  address: string;
  port: number;
  meta: Record<string, string>;
}

export interface HealthyReplicasOptions {
  client: ConsulClient;
  /** The Consul service name of the deployment's replicas. */
  service: string;
  logger: Logger;
  /** Longest blocking query (default: 5m, Consul's default). */
  wait?: string;
  /** Refill time of the loop's rate limit (token bucket, burst 2), ms (default: 250). */
  refillMs?: number;
}

/**
 * The healthy replicas of one service, kept current by blocking queries on
 * `/v1/health/service/:name?passing` (hashicorp.md §3.1, §3.6), never by a polling loop: each query waits
 * until Consul's index moves. Per Consul's client rules, an index that goes backwards restarts from 0, and
 * the loop is rate-limited (burst 2) so churn cannot make it spin. Errors back off and keep the last list.
 */
export class HealthyReplicas {
  private readonly events = new EventEmitter();
  private readonly stop = new AbortController();
  private replicas: HealthyReplica[] = [];
  private index = 0;
  private tokens = 2;
  private lastRefill = Date.now();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: HealthyReplicasOptions) {}

  /** Reads the list once, then follows it in the background. */
  async start(): Promise<void> {
    await this.poll();
    this.loop = this.run();
  }

  current(): HealthyReplica[] {
    return this.replicas;
  }

  /** Called with the new list whenever it changes. */
  onChange(listener: (replicas: HealthyReplica[]) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        await this.rateLimit();
        await this.poll();
      } catch (err) {
        if (this.stop.signal.aborted) return;
        this.options.logger.warn({ err: (err as Error).message, service: this.options.service }, 'watching healthy replicas failed; retrying');
        this.index = 0;
        await sleep(1_000, this.stop.signal);
      }
    }
  }

  private async poll(): Promise<void> {
    const query = this.index > 0 ? { index: this.index, wait: this.options.wait ?? '5m' } : {};
    const res = await this.options.client.health.service(this.options.service, true, { ...query, signal: this.stop.signal });
    this.index = res.meta.lastIndex < this.index ? 0 : res.meta.lastIndex;
    const next = res.data.map(toReplica).sort((a, b) => (a.id < b.id ? -1 : 1));
    if (JSON.stringify(next) === JSON.stringify(this.replicas)) return;
    this.replicas = next;
    this.events.emit('change', next);
  }

  private async rateLimit(): Promise<void> {
    const refill = this.options.refillMs ?? 250;
    const now = Date.now();
    this.tokens = Math.min(2, this.tokens + (now - this.lastRefill) / refill);
    this.lastRefill = now;
    if (this.tokens < 1) await sleep((1 - this.tokens) * refill, this.stop.signal);
    this.tokens = Math.max(0, this.tokens - 1);
  }
}

/** `Service.Address` falls back to the node's address when empty. */
function toReplica(entry: ServiceEntry): HealthyReplica {
  return {
    id: entry.Service.ID,
    address: entry.Service.Address || entry.Node.Address,
    port: entry.Service.Port,
    meta: entry.Service.Meta ?? {},
  };
}


import type { Coordinator, CoordinatorEvent, CoordinatorEvents, Leadership } from '../../src/coordinator/coordinator.js';
import { CoordinatorEmitter } from '../../src/coordinator/events.js';

/**
 * A Coordinator the test drives by hand: `win()` and `lose()` change leadership as a Consul election
 * would (the signal is aborted before `leader:lost`), and `follow(url)` names another leader. Records
 * its calls.
 */
export class ManualCoordinator implements Coordinator {
  readonly calls: string[] = [];
  private readonly events = new CoordinatorEmitter();
  private lead: { leadership: Leadership; controller: AbortController } | undefined;
  private url: string | undefined;
  private epoch = 0;

  constructor(private readonly advertiseUrl = 'https://self.test') {}

  async start(): Promise<void> {
    this.calls.push('start');
  }

  leadership(): Leadership | undefined {
    return this.lead?.leadership;
  }

  leaderUrl(): string | undefined {
    return this.url;
  }

  on<E extends CoordinatorEvent>(event: E, listener: (payload: CoordinatorEvents[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  async close(): Promise<void> {
    this.calls.push('close');
    this.lose('closed');
  }

  win(): Leadership {
    const controller = new AbortController();
    this.lead = { controller, leadership: { signal: controller.signal, epoch: ++this.epoch } };
    this.follow(this.advertiseUrl);
    this.events.emit('leader:acquired', this.lead.leadership);
    return this.lead.leadership;
  }

  lose(reason = 'lost'): void {
    const lead = this.lead;
    if (!lead) return;
    this.lead = undefined;
    lead.controller.abort(new Error(reason));
    this.events.emit('leader:lost', { reason });
    this.follow(undefined);
  }

  follow(url: string | undefined): void {
    this.url = url;
    this.events.emit('leader:changed', { url });
  }
}

import type { Coordinator, CoordinatorEvent, CoordinatorEvents, Leadership } from '../coordinator.js';
import { CoordinatorEmitter } from '../events.js';

/** The embedded default: one replica, always the leader once started, until closed. */
export class SingleNodeCoordinator implements Coordinator {
  private readonly events = new CoordinatorEmitter();
  private current: { leadership: Leadership; controller: AbortController } | undefined;
  private epoch = 0;

  constructor(private readonly advertiseUrl: string) {}

  async start(): Promise<void> {
    if (this.current) return;
    const controller = new AbortController();
    this.current = { controller, leadership: { signal: controller.signal, epoch: ++this.epoch } };
    this.events.emit('leader:changed', { url: this.advertiseUrl });
    this.events.emit('leader:acquired', this.current.leadership);
  }

  leadership(): Leadership | undefined {
    return this.current?.leadership;
  }

  leaderUrl(): string | undefined {
    return this.current ? this.advertiseUrl : undefined;
  }

  on<E extends CoordinatorEvent>(event: E, listener: (payload: CoordinatorEvents[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  async close(): Promise<void> {
    if (!this.current) return;
    this.current.controller.abort();
    this.current = undefined;
    this.events.emit('leader:lost', { reason: 'closed' });
    this.events.emit('leader:changed', { url: undefined });
  }
}

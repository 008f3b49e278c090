import { EventEmitter } from 'node:events';
import type { CoordinatorEvent, CoordinatorEvents } from './coordinator.js';

/** The typed event map shared by the Coordinator implementations. */
export class CoordinatorEmitter {
  private readonly emitter = new EventEmitter();

  on<E extends CoordinatorEvent>(event: E, listener: (payload: CoordinatorEvents[E]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  emit<E extends CoordinatorEvent>(event: E, payload: CoordinatorEvents[E]): void {
    this.emitter.emit(event, payload);
  }
}

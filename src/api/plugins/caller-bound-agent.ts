import { randomUUID } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';

/** Internal header naming the caller of a hop; removed before the request leaves this process. */
export const HOP_HEADER = 'x-gantry-hop';

type Callback = (err: Error | null, data: Dispatcher.ResponseData) => void;

/**
 * The undici Agent @fastify/reply-from forwards through, with one addition: a forwarded request ends when
 * the caller that asked for it goes away. reply-from does not pass a signal to undici, so a worker that
 * disconnects from a follower in the middle of a long poll would leave the follower's request to the
 * leader waiting, and the leader could hand that request a job nobody receives (it would come back only
 * when its lease ran out). `bind()` names the caller's signal in a header; `request()` takes it out and
 * gives undici the signal, which aborts the hop (and so the leader's long poll) the moment the caller leaves.
 */
export class CallerBoundAgent extends Agent {
  private readonly callers = new Map<string, AbortSignal>();

  /** Registers a caller's signal; the returned id goes in HOP_HEADER of the forwarded request. */
  bind(signal: AbortSignal): string {
    const id = randomUUID();
    this.callers.set(id, signal);
    return id;
  }

  /** Drops a caller that is done (its hop may never have been sent). */
  forget(id: string): void {
    this.callers.delete(id);
  }

  /** reply-from calls the callback form: `request(options, callback)`. */
  override request(options: Dispatcher.RequestOptions, callback?: Callback): never {
    const headers = { ...(options.headers as Record<string, string | undefined>) };
    const id = headers[HOP_HEADER];
    delete headers[HOP_HEADER];
    const signal = id === undefined ? undefined : this.callers.get(id);
    if (id !== undefined) this.callers.delete(id);
    const call = super.request as (o: Dispatcher.RequestOptions, cb?: Callback) => never;
    return call.call(this, { ...options, headers, ...(signal ? { signal } : {}) }, callback);
  }
}

/**
 * The scheduler's side of incarnations for queue tests (Scheduler.incarnations): replicas that run,
 * each with the incarnation of its current process. Starting or restarting a replica makes a new one.
 */
export class ReplicaTable {
  private readonly live = new Map<string, string>();
  private started = 0;
  /** How often the queue asked. */
  asked = 0;

  constructor(...running: string[]) {
    this.start(...running);
  }

  /** Starts (or restarts) replicas: each gets a new incarnation. */
  start(...replicaIds: string[]): void {
    for (const id of replicaIds) this.live.set(id, `${id}.${++this.started}`);
  }

  stop(replicaId: string): void {
    this.live.delete(replicaId);
  }

  incarnationOf(replicaId: string): string | undefined {
    return this.live.get(replicaId);
  }

  readonly incarnations = async (): Promise<Map<string, string>> => {
    this.asked++;
    return new Map(this.live);
  };
}

/** Small timer helpers for the replica lifecycle; every wait ends early when its signal aborts. */

/** `promise`'s value, or undefined as soon as `signal` aborts (the promise itself goes on). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const abort = () => resolve(undefined);
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener('abort', abort), resolve(value)),
      (err: unknown) => (signal.removeEventListener('abort', abort), reject(err)),
    );
  });
}

/**
 * Runs `tick` every `intervalMs`, never two at once (the next one is scheduled when the last has ended, so a
 * slow health check does not pile up). Timers are unref'd: they never keep a process alive by themselves.
 */
export class Ticker {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly tick: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.run(), ms);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    try {
      await this.tick();
    } catch (err) {
      this.onError(err);
    }
    this.schedule(this.intervalMs);
  }
}

import http from 'node:http';

/**
 * One health check of a replica: GET http://127.0.0.1:<port><path>.
 *
 * - `ok`: HTTP 200.
 * - `unhealthy`: another status (Sprocket answers 503 when it is not healthy).
 * - `down`: no connection (Sprocket binds its port only after setup and closes it before shutdown, §3.3).
 * - `busy`: connected, but no answer in time. A synchronous worker blocks its own /health while `predict`
 *   runs (§8.28), so this is not evidence of anything: readiness stays what it was.
 */
export type HealthResult = 'ok' | 'unhealthy' | 'down' | 'busy';

export function probeHealth(port: number, path: string, timeoutMs: number): Promise<HealthResult> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? 'ok' : 'unhealthy');
    });
    req.once('timeout', () => {
      resolve(req.socket?.connecting === false ? 'busy' : 'down');
      req.destroy();
    });
    req.once('error', () => resolve('down'));
  });
}

/** Readiness after a check: 200 makes ready, a timeout keeps what was, anything else is not ready. */
export function nextReadiness(wasReady: boolean, result: HealthResult): boolean {
  if (result === 'ok') return true;
  if (result === 'busy') return wasReady;
  return false;
}

/**
 * Whether a replica that was ready has turned unhealthy for good: it answered its check with a status
 * other than 200 (Sprocket answers 503 once its queue loop has stopped) for `limitMs` without a 200 in
 * between. Only explicit answers count: a timeout is a busy synchronous worker, a refused connection a
 * process that is ending on its own. One per run of the process; it says "replace" once.
 */
export class UnhealthyWatch {
  private since: number | undefined;
  private fired = false;

  constructor(
    private readonly limitMs: number,
    private wasReady: boolean,
  ) {}

  /** Records one check at `now`; true (once) when the replica should be replaced. */
  observe(result: HealthResult, now: number): boolean {
    if (result === 'ok') {
      this.wasReady = true;
      this.since = undefined;
      return false;
    }
    if (result !== 'unhealthy' || !this.wasReady || this.fired) return false;
    this.since ??= now;
    this.fired = now - this.since >= this.limitMs;
    return this.fired;
  }
}

/**
 * Backoff for the worker's calls to Gantry: exponential with jitter, and what a `Retry-After` header asks.
 * A status update is retried on a transport error or timeout, 408, 429, 5xx (among them 503
 * GANTRY_ERR_NOT_LEADER and 502 GANTRY_ERR_LEADER_UNREACHABLE during a leader failover) and a 2xx other
 * than 200 (success is exactly 200); any other answer is final.
 */

/** The first pause after a failure, and the longest (they double in between). */
export const BACKOFF_FIRST_MS = 500;
export const BACKOFF_CAP_MS = 5_000;

/** The pause after the `failures`-th failure in a row: between half and all of 0.5 s, 1 s, 2 s … 5 s. */
export function backoffMs(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, failures - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** Milliseconds a `Retry-After` header asks for (delay-seconds or an HTTP date); undefined without one. */
export function retryAfterMs(header: string | null | undefined, now: number = Date.now()): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Whether an answer other than 200 is worth another attempt. */
export function isRetryableStatus(status: number): boolean {
  return (status >= 200 && status < 300) || status === 408 || status === 429 || status >= 500;
}

/** Waits `ms`; resolves false at once when `stop` aborts (before or during the wait). */
export function pause(ms: number, stop?: AbortSignal): Promise<boolean> {
  if (stop?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (waited: boolean) => {
      clearTimeout(timer);
      stop?.removeEventListener('abort', onAbort);
      resolve(waited);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    stop?.addEventListener('abort', onAbort, { once: true });
  });
}

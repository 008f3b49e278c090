import { describe, expect, it } from 'vitest';
import { decodeRetrieveBody, requestIdOf } from '../src/job-decode.js';
import { backoffMs, isRetryableStatus, pause, retryAfterMs } from '../src/retry.js';

describe('backoff', () => {
  it('doubles from 0.5 s up to 5 s, each pause between half and all of it', () => {
    for (const [failures, ceiling] of [[1, 500], [2, 1000], [3, 2000], [4, 4000], [5, 5000], [40, 5000]] as const) {
      expect(backoffMs(failures, () => 0)).toBe(ceiling / 2);
      expect(backoffMs(failures, () => 1)).toBe(ceiling);
    }
    const spread = new Set(Array.from({ length: 50 }, () => Math.round(backoffMs(3))));
    expect(spread.size).toBeGreaterThan(10); // jittered
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(' 1.5 ')).toBe(1500);
    expect(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(10_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('retries 5xx, 408, 429 and a 2xx other than 200, nothing else', () => {
    expect([201, 204, 408, 429, 500, 502, 503].every(isRetryableStatus)).toBe(true);
    expect([301, 400, 401, 403, 404, 409, 413, 422].some(isRetryableStatus)).toBe(false);
  });

  it('pauses, and stops pausing at once when told to', async () => {
    expect(await pause(10)).toBe(true);
    const stop = new AbortController();
    const started = performance.now();
    const waiting = pause(10_000, stop.signal);
    stop.abort();
    expect(await waiting).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await pause(10, stop.signal)).toBe(false);
  });
});

describe('decoding a retrieve body', () => {
  it('finds data.request_id in a body that does not parse, at any depth of the rest, in any key order', () => {
    const deep = '['.repeat(50_000);
    expect(requestIdOf(`{"data": {"payload": {"x": ${deep}`)).toBeUndefined();
    expect(requestIdOf(`{"data": {"payload": [${'['.repeat(1000)}${']'.repeat(1000)}], "request_id": "r\\u00e9\\"1", "x": ${deep}`)).toBe('ré"1');
    expect(requestIdOf('{"other": {"request_id": "no"}, "data": {"payload": {"request_id": "nested"}, "request_id": "yes",,}}')).toBe('yes');
    expect(requestIdOf('{"data": {"request_id": 7}}')).toBeUndefined();
    expect(requestIdOf('not json at all')).toBeUndefined();
  });

  it('returns no job for {"data": null}, the job, or the job to fail with the parse error', () => {
    expect(decodeRetrieveBody('{"data": null}')).toBeUndefined();
    expect(decodeRetrieveBody('{"data": {"request_id": "r1", "payload": {"a": 1}}}')).toEqual({ request_id: 'r1', payload: { a: 1 } });
    expect(decodeRetrieveBody('{"data": {"request_id": "r2", "payload": {"a": }}}')).toEqual({
      request_id: 'r2',
      payload: undefined,
      undecodable: expect.stringMatching(/^the job could not be decoded: SyntaxError: /),
    });
    expect(() => decodeRetrieveBody('<html>502</html>')).toThrow(/retrieve answered a body that is not JSON/);
    expect(() => decodeRetrieveBody('{"data": {"payload": {}}}')).toThrow(/without a request_id/);
  });
});

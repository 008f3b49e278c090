import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/shared/logger.js';
import { refreshServingTls, type ServingTls } from '../../../src/startup/tls.js';

const tlsOf = (cert: string): ServingTls => ({ cert, key: `${cert}-key`, caFile: undefined });

describe('refreshServingTls', () => {
  it('serves certificates renewed while the server runs, once each, and stops when told', async () => {
    const renewals = [tlsOf('a'), tlsOf('b'), tlsOf('b')];
    const applied: string[] = [];
    const stop = refreshServingTls({
      current: tlsOf('a'),
      reload: async () => renewals.shift(),
      apply: (tls) => applied.push(tls.cert),
      logger: createLogger({ level: 'silent' }),
      intervalMs: 20,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop();
    expect(applied).toEqual(['b']);
  });

  it('keeps serving the current certificates when a renewal fails', async () => {
    const applied: string[] = [];
    const stop = refreshServingTls({
      current: tlsOf('a'),
      reload: () => Promise.reject(new Error('disk full')),
      apply: (tls) => applied.push(tls.cert),
      logger: createLogger({ level: 'silent' }),
      intervalMs: 20,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    stop();
    expect(applied).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { SprocketConfigError } from '../src/errors.js';
import { normalizeApiBase, resolveOptions, type RunOptions } from '../src/options.js';

const resolve = (options: RunOptions) => resolveOptions({ argv: [], ...options, env: { TOGETHER_DEPLOYMENT_NAME: 'm', ...options.env } });

function configError(fn: () => unknown): SprocketConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SprocketConfigError) return err;
    throw err;
  }
  throw new Error('expected a SprocketConfigError');
}

describe('resolveOptions', () => {
  it('fills the vendor defaults when nothing is set', () => {
    expect(resolve({})).toMatchObject({
      name: 'm',
      predictPath: '/generate',
      queue: false,
      port: 8000,
      apiBase: 'https://api.together.ai',
      apiKey: undefined,
      predictTimeoutMs: 299_000,
      runAndExit: 0,
      heartbeatMs: 45_000,
      claimTimeoutSeconds: 90,
      statusRetryMs: 180_000,
    });
  });

  it('reads --queue and --port, and --port wins over $PORT', () => {
    expect(resolve({ argv: ['--queue', '--port', '9000'], env: { PORT: '7000' } })).toMatchObject({ queue: true, port: 9000 });
    expect(resolve({ argv: ['--port=9001'] }).port).toBe(9001);
    expect(resolve({ env: { PORT: '7000' } }).port).toBe(7000);
  });

  it('refuses unknown arguments and bad ports with exit status 2, naming where the port came from', () => {
    const unknown = configError(() => resolve({ argv: ['--bogus'] }));
    expect(unknown.exitCode).toBe(2);
    expect(unknown.message).toMatch(/usage: .*--queue.*\n.*--bogus/s);
    expect(configError(() => resolve({ argv: ['--port', 'x'] })).message).toMatch(/^--port: "x"/);
    expect(configError(() => resolve({ env: { PORT: '70000' } })).message).toMatch(/^\$PORT: "70000"/);
  });

  it('takes the name from run() before TOGETHER_DEPLOYMENT_NAME, and refuses to run without one', () => {
    expect(resolve({ name: 'given' }).name).toBe('given');
    const missing = configError(() => resolveOptions({ argv: [], env: {} }));
    expect(missing.exitCode).toBe(1);
    expect(missing.message).toMatch(/TOGETHER_DEPLOYMENT_NAME/);
  });

  it('adds the leading slash to predictPath and refuses the worker\'s own routes', () => {
    expect(resolve({ predictPath: 'v1/chat/completions' }).predictPath).toBe('/v1/chat/completions');
    expect(configError(() => resolve({ predictPath: '/health' })).message).toMatch(/\/health/);
    expect(configError(() => resolve({ predictPath: 'metrics' })).message).toMatch(/\/metrics/);
  });

  it('derives the lease asked for from the heartbeat interval, and names a bad variable', () => {
    expect(resolve({ env: { GANTRY_SPROCKET_HEARTBEAT_SECONDS: '0.5' } })).toMatchObject({ heartbeatMs: 500, claimTimeoutSeconds: 1 });
    expect(configError(() => resolve({ env: { GANTRY_SPROCKET_HEARTBEAT_SECONDS: '0' } })).message).toMatch(/^GANTRY_SPROCKET_HEARTBEAT_SECONDS: "0"/);
    expect(configError(() => resolve({ env: { RUN_AND_EXIT: '1.5' } })).message).toMatch(/^RUN_AND_EXIT: "1.5"/);
    expect(resolve({ env: { TERMINATION_GRACE_PERIOD_SECONDS: '10', RUN_AND_EXIT: '2' } })).toMatchObject({ predictTimeoutMs: 9000, runAndExit: 2 });
  });

  it('reads the retry window of status updates, and names a bad value', () => {
    expect(resolve({ env: { GANTRY_SPROCKET_STATUS_RETRY_SECONDS: '2.5' } }).statusRetryMs).toBe(2500);
    expect(configError(() => resolve({ env: { GANTRY_SPROCKET_STATUS_RETRY_SECONDS: 'soon' } })).message).toMatch(/^GANTRY_SPROCKET_STATUS_RETRY_SECONDS: "soon"/);
  });
});

describe('normalizeApiBase', () => {
  it.each([
    { name: 'unset', value: undefined, want: 'https://api.together.ai' },
    { name: 'https kept, trailing slash dropped', value: 'https://gantry:8443/', want: 'https://gantry:8443' },
    { name: 'http accepted as given (Gantry)', value: 'http://127.0.0.1:8080', want: 'http://127.0.0.1:8080' },
    { name: 'no scheme gets https', value: 'gantry.internal:8443', want: 'https://gantry.internal:8443' },
  ])('$name', ({ value, want }) => {
    expect(normalizeApiBase(value)).toBe(want);
  });
});

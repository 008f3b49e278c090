import { ConfigError } from '../../src/config/load.js';

/** The problems of the `ConfigError` that `fn` throws; fails when it throws nothing, rethrows anything else. */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

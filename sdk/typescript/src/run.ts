import { SprocketConfigError } from './errors.js';
import { createLogger } from './log.js';
import { resolveOptions, type RunOptions } from './options.js';
import { Runner } from './runner.js';
import type { Sprocket } from './sprocket.js';

/**
 * Runs a worker as this process: the HTTP server on `--port` (else $PORT, else 8000) with `/health`,
 * `/metrics` and the predict route, plus the queue loop with `--queue`. Exits the process when done:
 * 0 after SIGTERM or RUN_AND_EXIT, 1 when setup fails, 2 for bad arguments.
 */
export async function run(worker: Sprocket | (new () => Sprocket), options: RunOptions = {}): Promise<never> {
  const log = createLogger('sprocket');
  let code: number;
  try {
    const instance = typeof worker === 'function' ? new worker() : worker;
    code = await new Runner(instance, resolveOptions(options), log).run();
  } catch (err) {
    code = err instanceof SprocketConfigError ? err.exitCode : 1;
    if (err instanceof SprocketConfigError) process.stderr.write(`${err.message}\n`);
    else log.error('worker failed', err);
  }
  return process.exit(code);
}

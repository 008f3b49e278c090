import type { Command } from 'commander';
import { createContext, type CliContext, type GlobalOptions } from './context.js';
import { isDebug } from './env.js';
import { ApiError, ConnectionError, JigError, LauncherError } from './errors.js';
import { processOutput, type Output } from './output.js';

/** The process-level inputs of a run; tests pass their own. */
export interface CliIo {
  out: Output;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIo(): CliIo {
  return { out: processOutput(), env: process.env, cwd: process.cwd() };
}

export type Action<O> = (ctx: CliContext, options: O, args: string[]) => Promise<void>;

/**
 * Wraps a command's action: builds its context from the merged global and command options, and turns any
 * failure into `Jig: Failed <message>` with a non-zero exit code (compat.md §1.1). A stack trace is shown
 * only with TOGETHER_DEBUG.
 */
export function action<O>(io: CliIo, fn: Action<O>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const options = command.optsWithGlobals<GlobalOptions & O>();
    const positional = args.slice(0, -2).filter((a): a is string => typeof a === 'string');
    try {
      await fn(createContext(options, io.out, io.env, io.cwd), options, positional);
    } catch (err) {
      process.exitCode = report(err, io);
    }
  };
}

function report(err: unknown, io: CliIo): number {
  if (isDebug(io.env.TOGETHER_DEBUG) && !(err instanceof JigError)) io.out.err((err as Error).stack ?? String(err));
  if (err instanceof JigError) {
    if (err.message) io.out.err(err instanceof LauncherError ? err.message : `Jig: Failed ${err.message}`);
    return err.exitCode;
  }
  if (err instanceof ApiError && err.status === 401) {
    io.out.err('Jig: Failed Invalid or missing API key. Set TOGETHER_API_KEY or use --api-key.');
  } else if (err instanceof ApiError || err instanceof ConnectionError) {
    io.out.err(`Jig: Failed ${err.message}`);
  } else {
    io.out.err(`Jig: Failed Unexpected error: ${err instanceof Error ? err.message : String(err)}`);
  }
  return 1;
}

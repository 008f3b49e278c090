/**
 * One list of things to undo (servers, worker processes, connections), run in reverse order at the end
 * of the benchmark, on error, and on SIGINT/SIGTERM. Everything registered must be safe to call twice:
 * the normal path usually stops a thing itself and the final sweep calls it again.
 */
export interface Cleanup {
  /** Registers `fn` to run at the end (last registered runs first). */
  add(label: string, fn: () => Promise<void>): void;
  /** Runs every registered step once, each bounded by `stepTimeoutMs`; reports failures, never throws. */
  runAll(): Promise<void>;
}

/** Wraps an async function so that later calls share the first call's promise. */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

export function createCleanup(stepTimeoutMs = 30_000): Cleanup {
  const steps: Array<{ label: string; fn: () => Promise<void> }> = [];
  return {
    add: (label, fn) => void steps.push({ label, fn }),
    runAll: once(async () => {
      for (const { label, fn } of steps.splice(0).reverse()) {
        await withTimeout(fn(), stepTimeoutMs).catch((err: unknown) => {
          console.error(`cleanup: ${label} failed: ${err instanceof Error ? err.message : String(err)}`);
        });
      }
    }),
  };
}

/**
 * On SIGINT/SIGTERM, runs the cleanup and exits 130/143 (a second signal exits at once); on an uncaught
 * exception or unhandled rejection, reports it, runs the cleanup and exits 1, so servers are not left
 * running. Returns a function that removes the handlers.
 */
export function cleanUpOnExit(cleanup: Cleanup): () => void {
  let exiting = false;
  const exit = (why: string, code: number): void => {
    if (exiting) process.exit(code);
    exiting = true;
    console.error(`\n${why}: stopping workers and servers...`);
    void cleanup.runAll().finally(() => process.exit(code));
  };
  const onSignal = (signal: NodeJS.Signals): void => exit(signal, signal === 'SIGINT' ? 130 : 143);
  const onCrash = (err: unknown): void => exit(`crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 1);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  };
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

import { randomUUID } from 'node:crypto';
import { assertInfo } from './progress.js';
import type { JsonObject, PredictContext, PredictMode } from './types.js';

/** A predict context for unit tests of a worker: records what `emitInfo` got and lets the test abort. */
export interface TestContext extends PredictContext {
  /** Every info passed to `emitInfo`, in order (each already checked against the 4096-byte limit). */
  readonly infos: JsonObject[];
  /** Aborts `signal`, as a cancel from the server would. */
  abort(reason?: unknown): void;
}

export function createTestContext(options: { requestId?: string; mode?: PredictMode } = {}): TestContext {
  const controller = new AbortController();
  const infos: JsonObject[] = [];
  return {
    requestId: options.requestId ?? randomUUID(),
    mode: options.mode ?? 'queue',
    signal: controller.signal,
    infos,
    emitInfo(info: JsonObject) {
      assertInfo(info);
      infos.push(info);
    },
    abort: (reason?: unknown) => controller.abort(reason),
  };
}

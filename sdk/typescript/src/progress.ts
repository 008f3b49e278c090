import { isObject } from './json.js';
import type { JsonObject } from './types.js';

/** The largest `info` an update may carry, as JSON (compat.md §8.3). */
export const MAX_INFO_BYTES = 4096;

/** Where emitted info goes while a queue job runs. */
export interface InfoSink {
  addInfo(info: JsonObject): void;
}

/** A worker runs one job at a time, so "the current job" is unambiguous (as in the Python SDK). */
let current: InfoSink | undefined;

export function setCurrentJob(sink: InfoSink | undefined): void {
  current = sink;
}

/** Throws unless `info` is a JSON object of at most 4096 bytes. */
export function assertInfo(info: unknown): asserts info is JsonObject {
  if (!isObject(info)) throw new TypeError('emitInfo expects a plain object');
  const bytes = Buffer.byteLength(JSON.stringify(info));
  if (bytes > MAX_INFO_BYTES) throw new RangeError(`info is ${bytes} bytes of JSON; the limit is ${MAX_INFO_BYTES}`);
}

/**
 * Merges `info` into the running queue job's `info` (shallow; later keys win). Updates are coalesced into
 * at most one `running` update every 0.5 s and flushed before the job's final status. Refused when its
 * JSON exceeds 4096 bytes. Outside a queue job (direct HTTP, warmup) the call is accepted and ignored.
 */
export function emitInfo(info: JsonObject): void {
  assertInfo(info);
  current?.addInfo(info);
}

/** The same as `emitInfo` (the name the vendor's queue guide uses). */
export function emit(info: JsonObject): void {
  emitInfo(info);
}

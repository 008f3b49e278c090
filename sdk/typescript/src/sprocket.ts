import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JsonObject, PredictContext } from './types.js';

/**
 * Marker for an output file: a top-level output value that is a `FileOutput` is uploaded to Gantry's
 * storage after `predict` and replaced by its URL (`{API_BASE}/v1/storage/<request_id>-<basename>`).
 */
export class FileOutput {
  readonly path: string;

  constructor(filePath: string) {
    if (typeof filePath !== 'string' || filePath === '') throw new TypeError('FileOutput needs a file path');
    this.path = filePath;
  }

  /** The file's name as uploaded, after the request id. */
  get name(): string {
    return path.basename(this.path);
  }

  toString(): string {
    return this.path;
  }
}

/**
 * Hooks around a job: how a downloaded input is stored, and a last pass over the outputs. Subclass it and
 * set the worker's `processor` field to change either.
 */
export class InputOutputProcessor {
  /** Stores one downloaded `https://` input at `dst` (default: the response body as it is). */
  async processInputFile(response: Response, dst: string): Promise<void> {
    await writeFile(dst, Buffer.from(await response.arrayBuffer()));
  }

  /** Runs after `predict`, before files are uploaded; returns the outputs to report (default: unchanged). */
  async finalize(_requestId: string, _inputs: JsonObject, outputs: JsonObject): Promise<JsonObject> {
    return outputs;
  }
}

/**
 * A worker: `setup()` once at start, `predict(args, ctx)` once per job, `shutdown()` once at the end.
 *
 * ```ts
 * class Hello extends Sprocket {
 *   async predict(args: { name?: string }) {
 *     return { message: `Hello, ${args.name ?? 'world'}!` };
 *   }
 * }
 * run(new Hello(), { name: 'hello-ts' });
 * ```
 */
export abstract class Sprocket<Args extends JsonObject = JsonObject> {
  /** Inputs run through `predict` once each after setup, before the worker turns healthy (default: none). */
  warmupInputs: Args[] = [];
  /** Input download and output finalize hooks (default: an `InputOutputProcessor`). */
  processor: InputOutputProcessor = new InputOutputProcessor();

  /** Loads models and other state; /health answers 503 until it returns. */
  async setup(): Promise<void> {}

  /** Handles one job; returns an object of outputs (JSON values, or `FileOutput`s at the top level). */
  abstract predict(args: Args, ctx: PredictContext): Promise<JsonObject> | JsonObject;

  /** Releases resources after the last job, on SIGTERM. */
  async shutdown(): Promise<void> {}
}

/**
 * @gantry/sprocket: Gantry's TypeScript worker SDK, the same model as the Python `sprocket`
 * (compat.md §3): subclass `Sprocket`, implement `predict`, and `run()` it.
 */
export { Sprocket, FileOutput, InputOutputProcessor } from './sprocket.js';
export { run } from './run.js';
export { emitInfo, emit, MAX_INFO_BYTES } from './progress.js';
export {
  JobCanceledError,
  PredictTimeoutError,
  SprocketConfigError,
  isJobCanceledError,
  isPredictTimeoutError,
} from './errors.js';
export type { RunOptions, ResolvedOptions } from './options.js';
export type { JsonObject, PredictContext, PredictMode, WorkerState } from './types.js';

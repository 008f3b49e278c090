import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { isObject } from './json.js';
import { PredictTimeoutError } from './errors.js';
import { FileOutput, type Sprocket } from './sprocket.js';
import type { JsonObject, PredictContext, PredictMode } from './types.js';

/** Downloaded inputs go here, relative to the working directory, and are deleted after the job. */
export const INPUTS_DIR = 'inputs';

export interface PipelineDeps {
  worker: Sprocket;
  uploadFile(requestId: string, file: FileOutput): Promise<string>;
  predictTimeoutMs: number;
  /** Set while a job runs (drives /metrics and the busy answer of /generate). */
  setBusy(busy: boolean): void;
  isBusy(): boolean;
}

export interface JobRequest {
  requestId: string;
  payload: unknown;
  mode: PredictMode;
  controller: AbortController;
  emitInfo(info: JsonObject): void;
}

/**
 * One job, for the queue and for direct HTTP alike (compat.md §3.4): download top-level `https://`
 * inputs, `predict`, `finalize`, upload top-level `FileOutput`s, then delete the downloaded inputs.
 * Throws the job's error; a job whose signal was aborted throws the abort reason.
 */
export async function handleJob(deps: PipelineDeps, job: JobRequest): Promise<JsonObject> {
  deps.setBusy(true);
  const downloaded: string[] = [];
  try {
    if (!isObject(job.payload)) throw new TypeError(`payload must be a JSON object, got ${kindOf(job.payload)}`);
    const inputs = await downloadInputs(deps.worker, job.payload, downloaded);
    const outputs = await predictWithin(deps, inputs, contextOf(job), job.controller);
    if (job.controller.signal.aborted) throw job.controller.signal.reason;
    if (!isObject(outputs)) throw new TypeError(`predict must return an object, got ${kindOf(outputs)}`);
    const finalized = await deps.worker.processor.finalize(job.requestId, inputs, outputs);
    return assertJson(await uploadOutputs(deps, job.requestId, finalized));
  } finally {
    deps.setBusy(false);
    await Promise.all(downloaded.map((file) => rm(file, { force: true })));
  }
}

/** Replaces each top-level `https://` string by the relative path of its downloaded file. */
async function downloadInputs(worker: Sprocket, payload: JsonObject, downloaded: string[]): Promise<JsonObject> {
  const inputs = { ...payload };
  for (const [key, value] of Object.entries(payload)) {
    if (typeof value !== 'string' || !value.startsWith('https://')) continue;
    const dst = `${INPUTS_DIR}/${inputName(value)}`;
    const shown = withoutQuery(value);
    const res = await fetch(value, { redirect: 'follow' }).catch((err: Error) => {
      throw new Error(`download of input "${key}" (${shown}) failed: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    });
    if (!res.ok) throw new Error(`download of input "${key}" (${shown}) answered HTTP ${res.status}`);
    await mkdir(INPUTS_DIR, { recursive: true });
    downloaded.push(dst);
    await worker.processor.processInputFile(res, dst);
    inputs[key] = dst;
  }
  return inputs;
}

/** A URL as it may appear in errors and logs: its query may hold a signature, so it is left out. */
function withoutQuery(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
}

/** The basename of the URL's path (never `.` or `..`). */
export function inputName(url: string): string {
  const name = path.posix.basename(new URL(url).pathname);
  return name === '' || name === '.' || name === '..' ? 'input' : name;
}

/** `predict`, bounded by the timeout: past it the signal aborts and the job fails with a PredictTimeoutError. */
async function predictWithin(deps: PipelineDeps, inputs: JsonObject, ctx: PredictContext, controller: AbortController): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new PredictTimeoutError(`Prediction took longer than ${deps.predictTimeoutMs / 1000}s`);
      controller.abort(err);
      reject(err);
    }, deps.predictTimeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => deps.worker.predict(inputs, ctx)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function contextOf(job: JobRequest): PredictContext {
  return { requestId: job.requestId, mode: job.mode, signal: job.controller.signal, emitInfo: job.emitInfo };
}

async function uploadOutputs(deps: PipelineDeps, requestId: string, outputs: JsonObject): Promise<JsonObject> {
  const result = { ...outputs };
  for (const [key, value] of Object.entries(outputs)) {
    if (value instanceof FileOutput) result[key] = await deps.uploadFile(requestId, value);
  }
  return result;
}

/** Outputs must survive JSON; a BigInt or a cycle fails the job instead of the worker. */
function assertJson(outputs: JsonObject): JsonObject {
  try {
    JSON.stringify(outputs);
  } catch (err) {
    throw new TypeError(`predict returned outputs that are not JSON: ${(err as Error).message}`);
  }
  return outputs;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

import { describeError } from './errors.js';
import { isObject } from './json.js';

/** A job as handed out by retrieve: at least `request_id` and `payload` (compat.md §3.5). */
export interface ClaimedJob {
  request_id: string;
  payload: unknown;
  /** Set when the job's body could not be decoded: the job is failed with this reason, not run. */
  undecodable?: string;
}

/**
 * The job in a retrieve body, or undefined for "no job" (`{"data": null}`, `{}`). A body that is not
 * JSON still names its job when `data.request_id` can be found in it: the server has handed that job
 * out, so it is returned to be failed with the reason rather than left running. Throws for a body that
 * names no job.
 */
export function decodeRetrieveBody(text: string): ClaimedJob | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    const id = requestIdOf(text);
    if (id === undefined) throw new Error(`retrieve answered a body that is not JSON: ${describeError(err)}`);
    return { request_id: id, payload: undefined, undecodable: `the job could not be decoded: ${describeError(err)}` };
  }
  if (!isObject(body)) throw new Error(`retrieve answered a non-object: ${text.slice(0, 200)}`);
  const data = body.data;
  if (!isObject(data)) return undefined;
  if (typeof data.request_id !== 'string' || data.request_id === '') throw new Error('retrieve handed out a job without a request_id');
  return { request_id: data.request_id, payload: data.payload };
}

/**
 * `data.request_id` of a JSON text when it is a string, found in one pass without decoding anything
 * else (so neither depth nor a syntax error further on stops it): for each open object it keeps the key
 * whose value is being read.
 */
export function requestIdOf(text: string): string | undefined {
  const frames: { object: boolean; key?: string }[] = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      const value = end === undefined ? undefined : parseString(text.slice(i, end + 1));
      if (value === undefined) return undefined;
      if (expectingKey) [frames[frames.length - 1]!.key, expectingKey] = [value, false];
      else if (atRequestId(frames)) return value;
      i = end!;
    } else if (c === '{' || c === '[') {
      frames.push({ object: c === '{' });
      expectingKey = c === '{';
    } else if ((c === '}' || c === ']') && frames.length) frames.pop();
    else if (c === ',') expectingKey = frames.at(-1)?.object ?? false;
  }
  return undefined;
}

/** The index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number | undefined {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return undefined;
}

function parseString(literal: string): string | undefined {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return undefined;
  }
}

function atRequestId(frames: { object: boolean; key?: string }[]): boolean {
  return frames.length === 2 && frames[0]!.object && frames[0]!.key === 'data' && frames[1]!.object && frames[1]!.key === 'request_id';
}

/**
 * How deep JSON may nest: objects and arrays inside each other, `{}` being one level. Every JSON body is
 * scanned for it before it is parsed, so nothing recursive (schema checks, `JSON.stringify`, a worker's
 * `json.loads`) ever sees more. Answers to workers wrap a job's `payload` two levels deep
 * (`{"data": {"payload": …}}`), so what is handed to workers is held to this limit too (WORKER_ENVELOPE_DEPTH).
 */
export const MAX_JSON_DEPTH = 64;

/** Levels the retrieve answer adds around a job's `payload` and `info`: `{"data": {"payload": …}}`. */
export const WORKER_ENVELOPE_DEPTH = 2;

/** Where a JSON text first nests deeper than a limit: the keys and indexes leading there. */
export interface TooDeep {
  path: Array<string | number>;
}

const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const COMMA = 0x2c; // ,

/** One open object or array: the key (or index) the scan is at inside it. */
interface Frame {
  array: boolean;
  at: string | number;
  expectsKey: boolean;
}

/**
 * One linear pass over JSON text, with an explicit stack (no recursion), that finds the first place it
 * nests deeper than `limit`. It does not validate: malformed text is left for the parser to refuse.
 */
export function findTooDeep(text: string, limit = MAX_JSON_DEPTH): TooDeep | undefined {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = endOfString(text, i);
      noteKey(stack.at(-1), text, i + 1, end);
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (stack.length === limit) return { path: stack.map((f) => f.at) };
      stack.push({ array: c === OPEN_ARRAY, at: c === OPEN_ARRAY ? 0 : '', expectsKey: c === OPEN_OBJECT });
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
    } else if (c === COMMA) {
      nextMember(stack.at(-1));
    }
  }
  return undefined;
}

/** The index of the quote that closes the string opening at `start` (or the end of the text). */
function endOfString(text: string, start: number): number {
  let i = start;
  for (;;) {
    i = text.indexOf('"', i + 1);
    if (i === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(i - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
}

/** A string in key position of an object becomes the object's current key (decoded when it has escapes). */
function noteKey(frame: Frame | undefined, text: string, start: number, end: number): void {
  if (!frame || frame.array || !frame.expectsKey) return;
  frame.expectsKey = false;
  const raw = text.slice(start, end);
  frame.at = raw.includes('\\') ? decodeKey(raw) : raw;
}

function decodeKey(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

function nextMember(frame: Frame | undefined): void {
  if (!frame) return;
  if (frame.array) frame.at = (frame.at as number) + 1;
  else frame.expectsKey = true;
}

/** Levels of nesting of a parsed value, counted without recursion. */
export function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [node, above] = pending.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, above + 1);
    for (const child of Object.values(node)) pending.push([child, above + 1]);
  }
  return deepest;
}

/** A path as a dotted field name (`payload.a.0.b`), cut short when it would be very long. */
export function dottedPath(path: Array<string | number>, max = 200): string {
  const text = path.map((p) => (typeof p === 'string' && p.length > 40 ? `${p.slice(0, 40)}…` : String(p))).join('.');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * A seeded generator of hostile requests for the JSON routes: the same seed gives the same cases, so a
 * failure names its seed and case number and replays exactly.
 */

/** mulberry32: a small, fast, seeded PRNG. */
export class Rng {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** One request to send: the body as raw bytes (or none) and the headers it goes with. */
export interface FuzzCase {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** What was done to the request, for the failure message. */
  mutation: string;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const NESTING_LEVELS = [63, 64, 65, 66, 100, 1_000, 4_200, 10_500, 100_000];

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '💥',
  '../../etc/passwd',
  '%2e%2e%2f',
  'a'.repeat(101),
  '<script>',
  '"quoted"',
  'x\\y',
  '__proto__',
  'constructor',
  '-1',
  '1e309',
  'dep_x',
  'web',
];

const ODD_VALUES: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  -0,
  1.5,
  2 ** 31,
  -(2 ** 53),
  1e308,
  [],
  {},
  [null],
  { a: null },
  ...ODD_STRINGS,
];

/** A nested value: `[[[…]]]` or `{"a":{"a":…}}`, `levels` deep, built as text so building it never recurses. */
export function nestedText(levels: number, kind: 'array' | 'object', inner = '1'): string {
  return kind === 'array' ? '['.repeat(levels) + inner + ']'.repeat(levels) : '{"a":'.repeat(levels) + inner + '}'.repeat(levels);
}

/** The body mutations: each takes a valid body and returns raw text and a label. */
const BODY_MUTATIONS: Array<(rng: Rng, body: Record<string, Json>) => [string, string]> = [
  // nesting
  (rng, body) => {
    const levels = rng.pick(NESTING_LEVELS);
    const key = fieldOf(rng, body);
    const kind = rng.pick(['array', 'object'] as const);
    return [replaceField(body, key, nestedText(levels, kind)), `nesting ${levels} ${kind}s at ${key}`];
  },
  (rng) => {
    const levels = rng.pick(NESTING_LEVELS);
    return [nestedText(levels, rng.pick(['array', 'object'] as const)), `a bare body nested ${levels}`];
  },
  // size
  (rng, body) => {
    const bytes = rng.pick([1_000, 100_000, 600_000, 1_200_000]);
    const key = fieldOf(rng, body);
    return [JSON.stringify({ ...body, [key]: 'x'.repeat(bytes) }), `a ${bytes}-byte string at ${key}`];
  },
  (rng, body) => {
    const count = rng.pick([1_000, 20_000]);
    const key = fieldOf(rng, body);
    const many = Array.from({ length: count }, (_, i) => (rng.chance(0.5) ? i : { [`k${i}`]: i }));
    return [JSON.stringify({ ...body, [key]: many }), `${count} items at ${key}`];
  },
  (rng, body) => {
    const count = rng.pick([1_000, 30_000]);
    const wide = Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]));
    return [JSON.stringify({ ...body, ...wide }), `${count} extra keys`];
  },
  // type
  (rng, body) => {
    const key = fieldOf(rng, body);
    const value = rng.pick(ODD_VALUES);
    return [JSON.stringify({ ...body, [key]: value }), `${key} = ${JSON.stringify(value)}`];
  },
  (rng, body) => {
    const key = fieldOf(rng, body);
    const { [key]: _dropped, ...rest } = body;
    return [JSON.stringify(rest), `without ${key}`];
  },
  (rng) => {
    const value = rng.pick([...ODD_VALUES, [1, 2], 'text']);
    return [JSON.stringify(value), `a body of ${JSON.stringify(value)}`];
  },
  (rng, body) => {
    const key = fieldOf(rng, body);
    const inner = body[key];
    const value = typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? { ...inner, [rng.pick(ODD_STRINGS)]: rng.pick(ODD_VALUES) } : inner;
    return [JSON.stringify({ ...body, [key]: value }), `an odd key inside ${key}`];
  },
  // encoding
  (rng, body) => {
    const text = JSON.stringify(body);
    const cut = rng.int(text.length);
    return [text.slice(0, cut), `truncated at ${cut}`];
  },
  (rng, body) => [JSON.stringify(body) + rng.pick(['x', '}', ',', ' 1', '\u0000', '\ufeff']), 'trailing garbage'],
  (_rng, body) => ['\ufeff' + JSON.stringify(body), 'a byte-order mark'],
  (rng, body) => [
    JSON.stringify(body).replace(/"[^"]*"/, rng.pick(['"\\ud800"', '"\\u0000"', '"\\x41"', '"\\', "'single'"])),
    'an odd escape in the first string',
  ],
  (rng, body) => {
    const key = fieldOf(rng, body);
    return [JSON.stringify({ ...body, [key]: '__fuzz_marker__' }).replace('"__fuzz_marker__"', '{"__proto__":{"polluted":true}}'), `a __proto__ key in ${key}`];
  },
  (_rng, body) => [`{"__proto__":{"polluted":true},${JSON.stringify(body).slice(1)}`, 'a __proto__ key'],
  (_rng, body) => [`{"constructor":{"prototype":{"polluted":true}},${JSON.stringify(body).slice(1)}`, 'a constructor.prototype key'],
  (rng, body) => {
    const key = fieldOf(rng, body);
    return [JSON.stringify(body).replace(`"${key}"`, `"${key}","${key}":1,"${key}"`), `duplicate ${key}`];
  },
  (_rng, body) => [JSON.stringify(body).replace(/:(\d+)/, ':1e99999'), 'a number beyond a double'],
];

/** The header mutations: content types, charsets and lengths. */
const HEADER_MUTATIONS: Array<(rng: Rng) => [Record<string, string>, string]> = [
  () => [{ 'content-type': 'application/json' }, ''],
  () => [{ 'content-type': 'application/json; charset=utf-8' }, ''],
  (rng) => {
    const type = rng.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/jsonx', ';;', 'application/*', 'multipart/form-data; boundary=x']);
    return [{ 'content-type': type }, `content-type ${type}`];
  },
  () => [{}, 'no content-type'],
];

/** Builds the body of a case (or none): a mutated seed body, sometimes with invalid UTF-8 bytes. */
export function mutateBody(rng: Rng, seed: Record<string, Json>): [Buffer | undefined, string] {
  if (rng.chance(0.04)) return [undefined, 'no body'];
  if (rng.chance(0.04)) return [Buffer.alloc(0), 'an empty body'];
  const [text, label] = rng.chance(0.1) ? [JSON.stringify(seed), 'valid'] : rng.pick(BODY_MUTATIONS)(rng, seed);
  const bytes = Buffer.from(text, 'utf8');
  if (!rng.chance(0.06) || bytes.length === 0) return [bytes, label];
  const at = rng.int(bytes.length);
  return [Buffer.concat([bytes.subarray(0, at), Buffer.from([rng.pick([0xff, 0xc3, 0xe2, 0x80])]), bytes.subarray(at)]), `${label}, invalid UTF-8 at ${at}`];
}

export function mutateHeaders(rng: Rng): [Record<string, string>, string] {
  return rng.chance(0.85) ? HEADER_MUTATIONS[rng.int(2)]!(rng) : rng.pick(HEADER_MUTATIONS)(rng);
}

/** A path parameter: a real name most of the time, else something odd (encoded, long, traversal). */
export function mutateParam(rng: Rng, real: string): string {
  if (rng.chance(0.6)) return encodeURIComponent(real);
  return rng.pick([
    encode(rng.pick(ODD_STRINGS)),
    '%ZZ',
    '%E0%A4%A',
    '%00',
    'a'.repeat(rng.pick([100, 101, 5_000])),
    '%2e%2e',
    '..%2f..%2f',
    encodeURIComponent('名前'),
  ]);
}

/** A query value: the real one, or something odd. */
export function mutateQueryValue(rng: Rng, real: string): string {
  if (rng.chance(0.6)) return encodeURIComponent(real);
  return rng.pick([encode(rng.pick(ODD_STRINGS)), '%ZZ', '', 'a'.repeat(10_000), '1&model=web', '%26', '[]', '{}']);
}

/** Percent-encodes, sending a lone surrogate as the invalid UTF-8 it would be. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}

function fieldOf(rng: Rng, body: Record<string, Json>): string {
  const keys = Object.keys(body);
  return keys.length > 0 && rng.chance(0.85) ? rng.pick(keys) : rng.pick(['extra', 'payload', 'info', 'x']);
}

/** The body text with one field's value replaced by raw JSON text (so deep values are never built as objects). */
function replaceField(body: Record<string, Json>, key: string, rawValue: string): string {
  const marker = '"__fuzz_marker__"';
  return JSON.stringify({ ...body, [key]: '__fuzz_marker__' }).replace(marker, rawValue);
}

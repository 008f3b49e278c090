import { describe, expect, it } from 'vitest';
import { depthOf, dottedPath, findTooDeep } from '../../../src/api/json-depth.js';

const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n);

describe('findTooDeep', () => {
  it.each([
    { name: 'a scalar', text: '1', limit: 1, deep: false },
    { name: 'an empty object at the limit', text: '{}', limit: 1, deep: false },
    { name: 'two levels over a limit of one', text: '{"a":[]}', limit: 1, deep: true },
    { name: 'brackets inside strings', text: '{"a":"[[[[{{{{"}', limit: 1, deep: false },
    { name: 'an escaped quote before brackets in a string', text: '{"a":"\\"[[[["}', limit: 1, deep: false },
    { name: 'an escaped backslash ending a string', text: '{"a":"\\\\","b":[]}', limit: 1, deep: true },
    { name: '64 levels at a limit of 64', text: arrays(64), limit: 64, deep: false },
    { name: '65 levels at a limit of 64', text: arrays(65), limit: 64, deep: true },
    { name: 'siblings that never nest deeper', text: '[[1],[2],[3],{"a":4}]', limit: 2, deep: false },
  ])('says $name is deep: $deep', ({ text, limit, deep }) => {
    expect(findTooDeep(text, limit) !== undefined).toBe(deep);
  });

  it('names the keys and indexes leading to where the limit was passed', () => {
    const text = '{"model":"m","payload":{"list":[1,2,{"b\\u0022c":[[0]]}]}}';
    expect(findTooDeep(text, 4)?.path).toEqual(['payload', 'list', 2, 'b"c']);
  });

  it('scans a million levels without recursion', () => {
    expect(findTooDeep(arrays(1_000_000), 64)?.path).toHaveLength(64);
  });
});

describe('depthOf', () => {
  it.each([
    { name: 'a scalar', value: 'x', depth: 0 },
    { name: 'an empty object', value: {}, depth: 1 },
    { name: 'an object holding an array', value: { a: [1, { b: null }] }, depth: 3 },
  ])('counts $name as $depth levels', ({ value, depth }) => {
    expect(depthOf(value)).toBe(depth);
  });

  it('counts a 100,000-level value without recursion', () => {
    expect(depthOf(JSON.parse(arrays(100_000)))).toBe(100_000);
  });
});

describe('dottedPath', () => {
  it('joins keys and indexes and cuts a long path short', () => {
    expect(dottedPath(['payload', 'a', 0])).toBe('payload.a.0');
    expect(dottedPath(Array.from({ length: 100 }, () => 'key')).length).toBeLessThanOrEqual(201);
  });
});

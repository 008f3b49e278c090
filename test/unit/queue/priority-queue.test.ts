import { describe, expect, it } from 'vitest';
import { PriorityQueue } from '../../../src/queue/priority-queue.js';

function drain(q: PriorityQueue): string[] {
  const out: string[] = [];
  for (let e = q.pop(); e; e = q.pop()) out.push(e.id);
  return out;
}

describe('PriorityQueue', () => {
  it.each([
    { name: 'FIFO within one priority', jobs: [['a', 0, 1], ['b', 0, 2], ['c', 0, 3]], order: ['a', 'b', 'c'] },
    { name: 'higher priority first', jobs: [['low', 0, 1], ['high', 5, 2], ['mid', 1, 3]], order: ['high', 'mid', 'low'] },
    { name: 'negative priorities last', jobs: [['neg', -1, 1], ['zero', 0, 2]], order: ['zero', 'neg'] },
    { name: 'a requeued job returns to its original place', jobs: [['b', 0, 2], ['c', 0, 3], ['a', 0, 1]], order: ['a', 'b', 'c'] },
  ])('pops $name', ({ jobs, order }) => {
    const q = new PriorityQueue();
    for (const [id, priority, seq] of jobs) q.push({ id: id as string, priority: priority as number, seq: seq as number });
    expect(drain(q)).toEqual(order);
  });

  it('skips removed entries and reports its live size', () => {
    const q = new PriorityQueue();
    for (let i = 0; i < 5; i++) q.push({ id: `j${i}`, priority: 0, seq: i });
    expect(q.remove('j0')).toBe(true);
    expect(q.remove('j0')).toBe(false);
    q.remove('j3');
    expect(q.size).toBe(3);
    expect(q.ids()).toEqual(['j1', 'j2', 'j4']);
    expect(drain(q)).toEqual(['j1', 'j2', 'j4']);
  });

  it('keeps order across many pushes, removals and compactions', () => {
    const q = new PriorityQueue();
    const n = 5000;
    for (let i = 0; i < n; i++) q.push({ id: String(i), priority: i % 3, seq: i });
    for (let i = 0; i < n; i += 2) q.remove(String(i));
    const out = drain(q).map(Number);
    const expected = Array.from({ length: n }, (_, i) => i)
      .filter((i) => i % 2 === 1)
      .sort((a, b) => (b % 3) - (a % 3) || a - b);
    expect(out).toEqual(expected);
  });
});

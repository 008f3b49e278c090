/**
 * Interleaves several async iterables, yielding each value as soon as any source produces it; ends when
 * every source has ended. A source that throws ends the merge with its error.
 */
export async function* merge<T>(sources: Array<AsyncIterable<T>>): AsyncIterable<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<T> }>>();
  const next = (i: number) => pending.set(i, iterators[i]!.next().then((r) => ({ i, r })));
  iterators.forEach((_, i) => next(i));
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(i);
        continue;
      }
      next(i);
      yield r.value;
    }
  } finally {
    await Promise.all([...pending.keys()].map((i) => iterators[i]!.return?.()));
  }
}

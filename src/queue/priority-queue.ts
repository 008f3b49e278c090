/** An entry of the pending heap: the job id and its place. */
export interface Pending {
  id: string;
  priority: number;
  seq: number;
}

/** Higher priority first, then earlier submission (FIFO within a priority). */
function before(a: Pending, b: Pending): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}

/**
 * A binary heap of pending jobs with lazy removal: `remove` only forgets the id, and `pop` skips entries
 * whose id is no longer live. O(log n) push/pop, O(1) remove, so cancelling one of a million pending jobs
 * does not scan. A requeued job is pushed with its original `seq`, so it returns to its original place.
 */
export class PriorityQueue {
  private heap: Pending[] = [];
  private readonly live = new Set<string>();

  get size(): number {
    return this.live.size;
  }

  has(id: string): boolean {
    return this.live.has(id);
  }

  push(entry: Pending): void {
    this.live.add(entry.id);
    this.heap.push(entry);
    this.siftUp(this.heap.length - 1);
  }

  pop(): Pending | undefined {
    while (this.heap.length > 0) {
      const top = this.takeTop();
      if (this.live.delete(top.id)) return top;
    }
    return undefined;
  }

  remove(id: string): boolean {
    const removed = this.live.delete(id);
    if (this.heap.length > 2 * this.live.size + 1024) this.compact();
    return removed;
  }

  /** Live ids in queue order (for `clear`); O(n log n). */
  ids(): string[] {
    return this.heap
      .filter((e) => this.live.has(e.id))
      .sort((a, b) => (before(a, b) ? -1 : 1))
      .map((e) => e.id);
  }

  private takeTop(): Pending {
    const top = this.heap[0]!;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Drops dead entries once they outnumber live ones, so lazy removal cannot grow memory without bound. */
  private compact(): void {
    this.heap = this.heap.filter((e) => this.live.has(e.id));
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) return;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < heap.length && before(heap[l]!, heap[best]!)) best = l;
      if (r < heap.length && before(heap[r]!, heap[best]!)) best = r;
      if (best === i) return;
      [heap[i], heap[best]] = [heap[best]!, heap[i]!];
      i = best;
    }
  }
}

import { execFile } from 'node:child_process';

/** One GPU of this machine, as nvidia-smi lists it. */
export interface Gpu {
  index: number;
  name: string;
  memoryMiB: number;
}

/** Parses `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(csv: string): Gpu[] {
  return csv
    .split('\n')
    .map((line) => line.split(',').map((field) => field.trim()))
    .filter((fields) => fields.length >= 3 && /^\d+$/.test(fields[0]!))
    .map(([index, name, memory]) => ({ index: Number(index), name: name!, memoryMiB: Number(memory) }));
}

/** The default probe: nvidia-smi's list, or none on a machine without it. */
export function probeNvidiaSmi(): Promise<Gpu[]> {
  const args = ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'];
  return new Promise((resolve) => {
    execFile('nvidia-smi', args, { timeout: 15_000 }, (err, stdout) => resolve(err ? [] : parseNvidiaSmi(stdout)));
  });
}

interface Waiter {
  count: number;
  grant: (indices: number[]) => void;
}

export interface GpuWait {
  /** Called while the request waits, with what it waits for. */
  onWait(free: number, total: Gpu[]): void;
  signal: AbortSignal;
}

/**
 * Hands out whole GPUs by index. A request that does not fit waits (first come, first served among those
 * that fit) and is granted as soon as enough are released. GPU types are not matched: on one machine the
 * operator decides what the GPUs are; the type only appears in the waiting message.
 */
export class GpuPool {
  private gpus: Promise<Gpu[]> | undefined;
  private readonly taken = new Set<number>();
  private readonly waiters: Waiter[] = [];

  constructor(private readonly probe: () => Promise<Gpu[]>) {}

  /** The machine's GPUs (probed once). */
  all(): Promise<Gpu[]> {
    this.gpus ??= this.probe().catch(() => []);
    return this.gpus;
  }

  /** `count` free GPU indices, waiting for them if needed; undefined when the wait is aborted. */
  async acquire(count: number, wait: GpuWait): Promise<number[] | undefined> {
    if (count === 0) return [];
    const all = await this.all();
    const now = this.take(all, count);
    if (now) return now;
    wait.onWait(this.freeCount(all), all);
    return this.enqueue(count, wait.signal);
  }

  /** Marks GPUs as taken without asking (a re-adopted replica already holds them). */
  claim(indices: number[]): void {
    for (const index of indices) this.taken.add(index);
  }

  release(indices: number[]): void {
    for (const index of indices) this.taken.delete(index);
    void this.grantWaiters();
  }

  private enqueue(count: number, signal: AbortSignal): Promise<number[] | undefined> {
    return new Promise((resolve) => {
      const waiter: Waiter = { count, grant: resolve };
      const abort = () => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        resolve(undefined);
      };
      waiter.grant = (indices) => {
        signal.removeEventListener('abort', abort);
        resolve(indices);
      };
      if (signal.aborted) return resolve(undefined);
      signal.addEventListener('abort', abort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private async grantWaiters(): Promise<void> {
    const all = await this.all();
    for (const waiter of [...this.waiters]) {
      const indices = this.take(all, waiter.count);
      if (!indices) continue;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.grant(indices);
    }
  }

  private take(all: Gpu[], count: number): number[] | undefined {
    const free = all.map((g) => g.index).filter((i) => !this.taken.has(i));
    if (free.length < count) return undefined;
    const picked = free.slice(0, count);
    this.claim(picked);
    return picked;
  }

  private freeCount(all: Gpu[]): number {
    return all.filter((g) => !this.taken.has(g.index)).length;
  }
}

/** "needs 1 GPU (h100-80gb); 0 of 2 GPUs are free" — what a replica waiting for GPUs says. */
export function unschedulableMessage(count: number, gpuType: string, free: number, all: Gpu[]): string {
  const need = `needs ${count} GPU${count === 1 ? '' : 's'} (${gpuType})`;
  if (all.length === 0) return `${need}; this machine has no GPUs (nvidia-smi lists none)`;
  const kinds = [...new Set(all.map((g) => g.name))].join(', ');
  return `${need}; ${free} of ${all.length} GPUs (${kinds}) are free; it starts when enough are released`;
}

import { afterEach, describe, expect, it } from 'vitest';
import type { Coordinator, CoordinatorEvent, CoordinatorEvents } from '../../src/coordinator/coordinator.js';

/**
 * The Coordinator contract: the single node and the Consul election (against the double, and a real Consul
 * when CONSUL_HTTP_ADDR is set). `make` builds one replica with an advertise URL; `replicas` says whether
 * several replicas of one group can run (the single node cannot).
 */
export interface CoordinatorFactory {
  make(advertiseUrl: string): Promise<Coordinator>;
  replicas: boolean;
}

export async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function record<E extends CoordinatorEvent>(c: Coordinator, event: E): Array<CoordinatorEvents[E] & { at: number }> {
  const seen: Array<CoordinatorEvents[E] & { at: number }> = [];
  c.on(event, (payload) => seen.push({ ...payload, at: Date.now() }));
  return seen;
}

export function describeCoordinatorContract(name: string, factory: CoordinatorFactory): void {
  describe(`Coordinator contract: ${name}`, () => {
    const running: Coordinator[] = [];
    const make = async (url: string) => {
      const c = await factory.make(url);
      running.push(c);
      return c;
    };
    afterEach(async () => {
      for (const c of running.splice(0)) await c.close();
    });

    it('leads when alone, and says so with an event and its own URL', async () => {
      const c = await make('https://a.example:8443');
      const acquired = record(c, 'leader:acquired');
      await c.start();
      await until(() => c.leadership() !== undefined);
      expect(c.leaderUrl()).toBe('https://a.example:8443');
      expect(c.leadership()!.signal.aborted).toBe(false);
      expect(c.leadership()!.epoch).toBeGreaterThan(0);
      await until(() => acquired.length === 1);
    });

    it('aborts the leadership and emits leader:lost when closed', async () => {
      const c = await make('https://a.example:8443');
      const lost = record(c, 'leader:lost');
      await c.start();
      await until(() => c.leadership() !== undefined);
      const { signal } = c.leadership()!;
      await c.close();
      expect(signal.aborted).toBe(true);
      expect(lost).toHaveLength(1);
      expect(c.leadership()).toBeUndefined();
    });

    it.runIf(factory.replicas)('elects exactly one of three, and the others learn its URL', async () => {
      const all = await Promise.all(['https://r1:1', 'https://r2:2', 'https://r3:3'].map(make));
      await Promise.all(all.map((c) => c.start()));
      await until(() => all.filter((c) => c.leadership()).length === 1);
      const leader = all.find((c) => c.leadership())!;
      await until(() => all.every((c) => c.leaderUrl() === leader.leaderUrl()));
      await new Promise((r) => setTimeout(r, 300));
      expect(all.filter((c) => c.leadership())).toHaveLength(1);
    });

    it.runIf(factory.replicas)('hands over when the leader steps down, with a higher epoch', async () => {
      const all = await Promise.all(['https://r1:1', 'https://r2:2'].map(make));
      await Promise.all(all.map((c) => c.start()));
      await until(() => all.some((c) => c.leadership()));
      const first = all.find((c) => c.leadership())!;
      const second = all.find((c) => c !== first)!;
      const epoch = first.leadership()!.epoch;
      await first.close();
      await until(() => second.leadership() !== undefined);
      expect(second.leadership()!.epoch).toBeGreaterThan(epoch);
      expect(second.leaderUrl()).toBe(all.indexOf(second) === 0 ? 'https://r1:1' : 'https://r2:2');
    });
  });
}

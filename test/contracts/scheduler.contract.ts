import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobSpec, LogLine, ReplicaExit, ReplicaStatus, Scheduler } from '../../src/scheduler/scheduler.js';
import { waitFor, waitForReplicas } from './scheduler-support.js';

/** What the contract needs from an implementation besides the Scheduler itself. */
export interface SchedulerHarness {
  scheduler: Scheduler;
  /** A spec this implementation can run (replicas that serve their health path and log a start line). */
  spec(overrides?: Partial<JobSpec>): JobSpec;
  /** Makes one replica's process end on its own, as a crash would. */
  crash(replicaId: string): Promise<void>;
  /** Makes one running replica print a line. */
  say(replicaId: string, line: string): Promise<void>;
  /** A line each replica logs soon after it starts. */
  startedLine: RegExp;
  close(): Promise<void>;
}

/**
 * The Scheduler contract: the in-memory double, the LocalScheduler (real processes) and, later, the
 * NomadScheduler must all pass it. `makeHarness` returns a fresh scheduler with nothing applied.
 */
export function describeSchedulerContract(name: string, makeHarness: () => Promise<SchedulerHarness>): void {
  describe(`Scheduler contract: ${name}`, () => {
    let h: SchedulerHarness;

    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.close();
    });

    /** Waits until the deployment has exactly `count` replicas, all Running and ready (of `revisionId` if given). */
    function readyReplicas(deploymentId: string, count: number, revisionId?: string): Promise<ReplicaStatus[]> {
      return waitForReplicas(h.scheduler, deploymentId, `${count} ready replicas`, (replicas) => {
        const ready = replicas.filter((r) => r.state === 'Running' && r.readySince && (!revisionId || r.revisionId === revisionId));
        return replicas.length === count && ready.length === count;
      });
    }

    it('starts the replicas of an applied spec and reports them Running and ready', async () => {
      const spec = h.spec({ replicas: 2 });
      await h.scheduler.apply(spec);
      const replicas = await readyReplicas(spec.deploymentId, 2);
      expect(new Set(replicas.map((r) => r.replicaId)).size).toBe(2);
      for (const r of replicas) {
        expect(r).toMatchObject({ deploymentId: spec.deploymentId, revisionId: spec.revisionId, image: spec.image });
        expect(r.address?.port).toBeGreaterThan(0);
        expect(Date.parse(r.readySince!)).not.toBeNaN();
      }
    });

    it('scales up, then down by stopping the highest-numbered replicas first', async () => {
      const spec = h.spec({ replicas: 1 });
      await h.scheduler.apply(spec);
      const [first] = await readyReplicas(spec.deploymentId, 1);
      await h.scheduler.scale(spec.deploymentId, 3);
      const three = await readyReplicas(spec.deploymentId, 3);
      expect(three.map((r) => r.replicaId)).toContain(first!.replicaId);
      const order = await h.scheduler.scaleDownOrder(spec.deploymentId);
      expect(order).toHaveLength(3);
      expect(order.at(-1)).toBe(first!.replicaId);
      await h.scheduler.scale(spec.deploymentId, 1);
      const [left] = await readyReplicas(spec.deploymentId, 1);
      expect(left!.replicaId).toBe(first!.replicaId);
      expect(await h.scheduler.scaleDownOrder(spec.deploymentId)).toEqual([first!.replicaId]);
    });

    it('keeps the running replicas when the same revision is applied with another count', async () => {
      const spec = h.spec({ replicas: 2 });
      await h.scheduler.apply(spec);
      const before = await readyReplicas(spec.deploymentId, 2);
      await h.scheduler.apply({ ...spec, replicas: 1 });
      const [left] = await readyReplicas(spec.deploymentId, 1);
      expect(left!.replicaId).toBe(before[0]!.replicaId);
    });

    it('replaces every replica when a new revision is applied', async () => {
      const spec = h.spec({ replicas: 2 });
      await h.scheduler.apply(spec);
      const old = await readyReplicas(spec.deploymentId, 2);
      await h.scheduler.apply({ ...spec, revisionId: 'rev-00000002' });
      const fresh = await readyReplicas(spec.deploymentId, 2, 'rev-00000002');
      const oldIds = old.map((r) => r.replicaId);
      expect(fresh.filter((r) => oldIds.includes(r.replicaId))).toEqual([]);
    });

    it('stops every replica, reports each exit and forgets the deployment', async () => {
      const spec = h.spec({ replicas: 2 });
      const exits: ReplicaExit[] = [];
      h.scheduler.onReplicaExit((exit) => exits.push(exit));
      await h.scheduler.apply(spec);
      const replicas = await readyReplicas(spec.deploymentId, 2);
      await h.scheduler.stop(spec.deploymentId);
      expect(await h.scheduler.replicas(spec.deploymentId)).toEqual([]);
      const exited = exits.filter((e) => e.deploymentId === spec.deploymentId).map((e) => e.replicaId);
      expect(exited.sort()).toEqual(replicas.map((r) => r.replicaId).sort());
    });

    it('reports a replica that ends to onReplicaExit at once, until unsubscribed', async () => {
      const spec = h.spec();
      await h.scheduler.apply(spec);
      const [replica] = await readyReplicas(spec.deploymentId, 1);
      const exits: ReplicaExit[] = [];
      const unsubscribe = h.scheduler.onReplicaExit((exit) => exits.push(exit));
      await h.crash(replica!.replicaId);
      const [exit] = await waitFor('the exit', () => (exits.length > 0 ? exits : undefined), 5000);
      expect(exit).toMatchObject({ deploymentId: spec.deploymentId, replicaId: replica!.replicaId, revisionId: spec.revisionId });
      expect(Date.parse(exit!.at)).not.toBeNaN();
      unsubscribe();
      await h.scheduler.stop(spec.deploymentId);
      expect(exits).toHaveLength(1);
    });

    it('gives each run of a replica its own incarnation, and lists only replicas that run', async () => {
      const spec = h.spec();
      await h.scheduler.apply(spec);
      const [replica] = await readyReplicas(spec.deploymentId, 1);
      const id = replica!.replicaId;
      const first = await waitFor('an incarnation', async () => (await h.scheduler.incarnations(spec.deploymentId)).get(id));
      expect(await h.scheduler.incarnations(spec.deploymentId)).toEqual(new Map([[id, first]]));
      await h.crash(id);
      await waitFor('the crashed run to be gone', async () => {
        const running = [...(await h.scheduler.incarnations(spec.deploymentId)).values()];
        return running.includes(first) ? undefined : true;
      }, 5000);
      await h.scheduler.stop(spec.deploymentId);
      expect(await h.scheduler.incarnations(spec.deploymentId)).toEqual(new Map());
    });

    it('yields the kept log lines, then new lines while following until aborted', async () => {
      const spec = h.spec();
      await h.scheduler.apply(spec);
      const [replica] = await readyReplicas(spec.deploymentId, 1);
      const kept = await waitFor('the start line', async () => {
        const lines = await collect(h.scheduler.logs(spec.deploymentId, {}));
        return lines.some((l) => h.startedLine.test(l.line)) ? lines : undefined;
      });
      expect(kept.every((l) => l.replicaId === replica!.replicaId)).toBe(true);

      const abort = new AbortController();
      const followed: LogLine[] = [];
      const following = (async () => {
        for await (const batch of h.scheduler.logs(spec.deploymentId, { follow: true, signal: abort.signal })) {
          followed.push(...batch);
          if (followed.some((l) => l.line === 'a line printed while followed')) abort.abort();
        }
      })();
      await waitFor('the kept lines while following', () => followed.length >= 1);
      await h.say(replica!.replicaId, 'a line printed while followed');
      await following;
      expect(followed.map((l) => l.line)).toContain('a line printed while followed');
    });

    it('ignores scale and stop of a deployment it does not know, and lists no replicas for it', async () => {
      await h.scheduler.scale('dep-unknown', 3);
      await h.scheduler.stop('dep-unknown');
      expect(await h.scheduler.replicas('dep-unknown')).toEqual([]);
      expect(await collect(h.scheduler.logs('dep-unknown', {}))).toEqual([]);
    });
  });
}

async function collect(batches: AsyncIterable<LogLine[]>): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const batch of batches) lines.push(...batch);
  return lines;
}

import { afterEach, describe, expect, it } from 'vitest';
import type { NomadClient } from '../../../../src/clients/nomad/index.js';
import { UnexpectedResponseError, type QueryOptions, type Result } from '../../../../src/clients/nomad/http.js';
import type { AllocListStub } from '../../../../src/clients/nomad/types.js';
import { ExitWatcher } from '../../../../src/scheduler/nomad/exit-watcher.js';
import type { ReplicaExit } from '../../../../src/scheduler/scheduler.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { createLogger } from '../../../../src/shared/logger.js';
import { waitFor } from '../../../contracts/scheduler-support.js';

/** A scripted `/v1/allocations`: each call takes the next answer (a list with its index, or an error). */
class ScriptedAllocations {
  readonly calls: QueryOptions[] = [];
  private readonly answers: Array<Result<AllocListStub[]> | Error> = [];
  private wake: (() => void) | undefined;

  push(answer: Result<AllocListStub[]> | Error): void {
    this.answers.push(answer);
    this.wake?.();
  }

  async list(q: QueryOptions = {}): Promise<Result<AllocListStub[]>> {
    this.calls.push(q);
    while (this.answers.length === 0) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        q.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      if (q.signal?.aborted) throw new Error('aborted');
    }
    const next = this.answers.shift()!;
    if (next instanceof Error) throw next;
    return next;
  }
}

function alloc(id: string, status: AllocListStub['ClientStatus'], restarts = 0, exitCode?: number): AllocListStub {
  const events = exitCode === undefined ? [] : [{ Type: 'Terminated', Time: Date.now() * 1e6, Details: { exit_code: String(exitCode) } }];
  return {
    ID: id, EvalID: 'e', Name: `gantry-x.worker[0]`, Namespace: 'default', NodeID: 'n', NodeName: 'n', JobID: 'gantry-x', JobVersion: 0, TaskGroup: 'worker',
    DesiredStatus: 'run', ClientStatus: status, DeploymentStatus: null, CreateIndex: 1, ModifyIndex: 1, CreateTime: 0, ModifyTime: 0,
    TaskStates: { worker: { State: status === 'running' ? 'running' : 'dead', Failed: status === 'failed', Restarts: restarts, LastRestart: null, StartedAt: 'x', FinishedAt: null, Events: events } },
  };
}

const at = (index: number, ...allocs: AllocListStub[]): Result<AllocListStub[]> => ({ data: allocs, meta: { lastIndex: index } });

describe('ExitWatcher', () => {
  let watcher: ExitWatcher | undefined;
  afterEach(async () => {
    await watcher?.stop();
  });

  function start(allocations: ScriptedAllocations, exits: ReplicaExit[]) {
    watcher = new ExitWatcher({
      client: { allocations } as unknown as NomadClient,
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      describe: async (a) => (a.JobID === 'gantry-x' ? { deploymentId: 'dep_x', revisionId: 'rev-1' } : undefined),
      emit: (e) => exits.push(e),
      waitMs: 1000,
    });
    watcher.start();
  }

  it('reports an allocation that ends, one that restarts in place, and ignores other jobs and the first list', async () => {
    const allocations = new ScriptedAllocations();
    const exits: ReplicaExit[] = [];
    start(allocations, exits);
    allocations.push(at(10, alloc('a', 'running'), alloc('b', 'running'), { ...alloc('o', 'running'), JobID: 'other' }, alloc('old', 'failed')));
    allocations.push(at(11, alloc('a', 'failed', 0, 137), alloc('b', 'running', 1, 1), { ...alloc('o', 'failed'), JobID: 'other' }, alloc('old', 'failed')));
    await waitFor('two exits', () => exits.length === 2);
    expect(exits.map((e) => [e.replicaId, e.code])).toEqual([['a', 137], ['b', 1]]);
    expect(exits[0]).toMatchObject({ deploymentId: 'dep_x', revisionId: 'rev-1' });
    await waitFor('the next blocking query', () => allocations.calls.length >= 3);
    expect(allocations.calls[1]).toMatchObject({ index: 10 });
    expect(allocations.calls[2]).toMatchObject({ index: 11 });
  });

  it('starts over with a full list after an error and reports what ended or vanished meanwhile', async () => {
    const allocations = new ScriptedAllocations();
    const exits: ReplicaExit[] = [];
    start(allocations, exits);
    allocations.push(at(10, alloc('a', 'running'), alloc('b', 'running')));
    allocations.push(new UnexpectedResponseError('GET', '/v1/allocations', 0, 'connection reset'));
    allocations.push(at(20, alloc('a', 'complete')));
    await waitFor('two exits', () => exits.length === 2, 10_000);
    expect(exits.map((e) => e.replicaId).sort()).toEqual(['a', 'b']);
    expect(allocations.calls[2]).toMatchObject({ index: 0 });
  });

  it('restarts the watch from index 0 when the index goes backwards, and reports each end once', async () => {
    const allocations = new ScriptedAllocations();
    const exits: ReplicaExit[] = [];
    start(allocations, exits);
    allocations.push(at(10, alloc('a', 'running')));
    allocations.push(at(5, alloc('a', 'failed', 0, 1)));
    allocations.push(at(6, alloc('a', 'failed', 0, 1)));
    await waitFor('the calls', () => allocations.calls.length >= 4);
    expect(allocations.calls[2]).toMatchObject({ index: 0 });
    expect(exits).toHaveLength(1);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { AllocListStub, ClientStatus, TaskState } from '../../../../src/clients/nomad/types.js';
import { incarnationsOf } from '../../../../src/scheduler/nomad/incarnations.js';
import { waitForReplicas, workerSpec } from '../../../contracts/scheduler-support.js';
import { createNomadRig, type NomadTestRig } from '../../../helpers/nomad-scheduler.js';

function alloc(id: string, clientStatus: ClientStatus, task: Pick<TaskState, 'State' | 'Restarts'> | undefined, desired: AllocListStub['DesiredStatus'] = 'run'): AllocListStub {
  const state: TaskState | undefined = task && { ...task, Failed: false, LastRestart: null, StartedAt: null, FinishedAt: null, Events: [] };
  return {
    ID: id, EvalID: 'e', Name: `job.worker[0]`, Namespace: 'default', NodeID: 'n', NodeName: 'n', JobID: 'job', JobVersion: 0,
    TaskGroup: 'worker', DesiredStatus: desired, ClientStatus: clientStatus, TaskStates: state ? { worker: state } : null,
    DeploymentStatus: null, CreateIndex: 1, ModifyIndex: 1, CreateTime: 0, ModifyTime: 0,
  };
}

describe('Nomad incarnations', () => {
  it('is the allocation id and its task restart count, for allocations whose task runs', () => {
    const allocs = [
      alloc('a1', 'running', { State: 'running', Restarts: 0 }),
      alloc('a2', 'running', { State: 'running', Restarts: 3 }),
      alloc('a3', 'running', { State: 'pending', Restarts: 4 }), // restarting in place: no process now
      alloc('a4', 'pending', undefined),
      alloc('a5', 'failed', { State: 'dead', Restarts: 2 }),
      alloc('a6', 'running', { State: 'running', Restarts: 1 }, 'stop'), // being stopped, its worker still runs
    ];
    expect(incarnationsOf(allocs)).toEqual(new Map([['a1', 'a1:0'], ['a2', 'a2:3'], ['a6', 'a6:1']]));
  });

  it('changes when Nomad restarts the task in place', () => {
    const before = incarnationsOf([alloc('a1', 'running', { State: 'running', Restarts: 0 })]);
    const after = incarnationsOf([alloc('a1', 'running', { State: 'running', Restarts: 1 })]);
    expect(after.get('a1')).not.toBe(before.get('a1'));
  });
});

describe('NomadScheduler.incarnations', () => {
  let rig: NomadTestRig | undefined;
  afterEach(async () => rig?.close());

  it('answers concurrent asks for one deployment with one allocation listing', async () => {
    rig = await createNomadRig();
    const r = rig;
    await r.scheduler.apply(workerSpec({ source: undefined, deploymentId: 'dep_inc', deploymentName: 'inc', jobId: 'gantry-inc', minReplicas: 0, maxReplicas: 2, replicas: 2 }));
    await waitForReplicas(r.scheduler, 'dep_inc', '2 ready', (rs) => rs.filter((x) => x.readySince).length === 2);
    const jobs = r.client.jobs;
    const list = jobs.allocations.bind(jobs);
    let listings = 0;
    jobs.allocations = (...args: Parameters<typeof list>) => {
      listings++;
      return list(...args);
    };
    const answers = await Promise.all(Array.from({ length: 20 }, () => r.scheduler.incarnations('dep_inc')));
    expect(listings).toBe(1);
    for (const a of answers) expect(a.size).toBe(2);
    await r.scheduler.incarnations('dep_inc');
    expect(listings).toBe(2); // an ask after the listing ended lists again: nothing is cached
  });
});

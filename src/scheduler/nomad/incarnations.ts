import type { AllocListStub } from '../../clients/nomad/types.js';

/**
 * The incarnations of a Nomad job's replicas (Scheduler.incarnations): each allocation whose task runs,
 * as `<allocation id>:<task restart count>`. A task that Nomad restarts in place keeps its allocation id
 * (the container's hostname, which workers report) but counts one more restart, so it is a new
 * incarnation; a rescheduled or replaced allocation has a new id. An allocation being stopped is listed
 * as long as its task still runs: its worker may still finish its job.
 */
export function incarnationsOf(allocs: AllocListStub[]): Map<string, string> {
  const running = allocs.flatMap((alloc) => {
    const task = Object.values(alloc.TaskStates ?? {})[0];
    return alloc.ClientStatus === 'running' && task?.State === 'running' ? [[alloc.ID, `${alloc.ID}:${task.Restarts}`] as const] : [];
  });
  return new Map(running);
}

import type { JobSpec } from '../../src/scheduler/scheduler.js';
import { MemoryScheduler } from '../doubles/memory-scheduler.js';
import { createNomadRig } from '../helpers/nomad-scheduler.js';
import { describeSchedulerContract } from './scheduler.contract.js';
import { cleanupTestSchedulers, createTestScheduler, getJson, replicaPid, waitFor, workerSpec } from './scheduler-support.js';

describeSchedulerContract('memory double', async () => {
  const scheduler = new MemoryScheduler();
  return {
    scheduler,
    spec: (overrides) => workerSpec(overrides),
    crash: async (replicaId) => scheduler.emitExit(replicaId, { code: 1 }),
    say: async (replicaId, line) => scheduler.pushLogs(replicaId, [line]),
    startedLine: /started/,
    close: async () => undefined,
  };
});

describeSchedulerContract('LocalScheduler (real processes)', async () => {
  const { scheduler, dataDir } = createTestScheduler();
  const specs: JobSpec[] = [];
  /** The fixture worker prints what it is sent on /echo. */
  const say = async (replicaId: string, line: string) => {
    const all = (await Promise.all(specs.map((s) => scheduler.replicas(s.deploymentId)))).flat();
    const port = all.find((r) => r.replicaId === replicaId)?.address?.port;
    if (!port) throw new Error(`replica ${replicaId} has no address`);
    await getJson(port, `/echo?line=${encodeURIComponent(line)}`);
  };
  return {
    scheduler,
    spec: (overrides) => {
      const spec = workerSpec(overrides);
      specs.push(spec);
      return spec;
    },
    crash: async (replicaId) => {
      process.kill(await waitFor('a process', () => replicaPid(dataDir, replicaId)), 'SIGKILL');
    },
    say,
    startedLine: /^worker started on port \d+/,
    close: cleanupTestSchedulers,
  };
});

describeSchedulerContract('NomadScheduler over the Nomad double', async () => {
  const rig = await createNomadRig();
  return {
    scheduler: rig.scheduler,
    spec: (overrides) => workerSpec({ source: undefined, ...overrides }),
    crash: async (replicaId) => rig.nomad.fail(replicaId, 137),
    say: async (replicaId, line) => rig.nomad.log(replicaId, 'stdout', `${line}\n`),
    startedLine: /^worker started on port \d+/,
    close: rig.close,
  };
});

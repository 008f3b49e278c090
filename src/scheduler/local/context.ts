import type { Logger } from '../../shared/logger.js';
import type { ReplicaExit, WorkerTokens } from '../scheduler.js';
import type { GpuPool } from './gpus.js';
import type { ResolvedLocalSchedulerOptions } from './options.js';
import type { PortAllocator } from './ports.js';
import type { Sandbox } from './sandbox.js';
import type { StateFiles } from './state-files.js';
import type { VenvManager } from './venv.js';

/** What every replica of one LocalScheduler shares: its settings and the machine's resources. */
export interface ReplicaContext {
  options: ResolvedLocalSchedulerOptions;
  logger: Logger;
  tokens: WorkerTokens;
  files: StateFiles;
  gpus: GpuPool;
  ports: PortAllocator;
  venvs: VenvManager;
  sandbox: Sandbox;
  /** Tells the scheduler's onReplicaExit listeners, at once. */
  reportExit(exit: ReplicaExit): void;
}

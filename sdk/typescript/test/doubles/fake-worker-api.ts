import type { ClaimedJob, JobStatus, RetryOptions, UpdateOutcome, WorkerApi } from '../../src/api-client.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { JsonObject } from '../../src/types.js';

export interface RecordedUpdate {
  requestId: string;
  status: JobStatus;
  payload: JsonObject;
  info: JsonObject | undefined;
  retry?: RetryOptions;
}

/** The worker's view of Gantry, in memory: hands out queued jobs and records status updates. */
export class FakeWorkerApi implements Pick<WorkerApi, 'retrieve' | 'postStatus'> {
  /** What the next retrieves return, in order: a job, nothing (undefined) or a failure (Error). */
  readonly retrieves: (ClaimedJob | Error | undefined)[] = [];
  readonly updates: RecordedUpdate[] = [];
  /** How `running` updates are answered (default: accepted). */
  runningAnswer: UpdateOutcome = 'ok';
  /** How `done`/`failed` updates are answered, in order (default: accepted). */
  readonly terminalAnswers: UpdateOutcome[] = [];
  retrieveCalls = 0;

  async retrieve(): Promise<ClaimedJob | undefined> {
    this.retrieveCalls++;
    const next = this.retrieves.shift();
    if (next instanceof Error) throw next;
    return next;
  }

  async postStatus(requestId: string, status: JobStatus, payload: JsonObject = {}, info?: JsonObject, retry?: RetryOptions): Promise<UpdateOutcome> {
    JSON.stringify({ payload, info }); // the real client serializes the body first, and throws as it does
    this.updates.push({ requestId, status, payload, info, ...(retry ? { retry } : {}) });
    return status === 'running' ? this.runningAnswer : (this.terminalAnswers.shift() ?? 'ok');
  }

  final(requestId: string): RecordedUpdate | undefined {
    return this.updates.find((u) => u.requestId === requestId && u.status !== 'running');
  }
}

/** A logger that keeps its lines. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger('test', (line) => lines.push(line)), { lines });
}

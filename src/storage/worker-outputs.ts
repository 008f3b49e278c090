import type { JobStatus } from '../queue/types.js';
import { appError } from '../shared/errors.js';
import type { Requester } from './records.js';

/**
 * What a worker token may upload: its own job's outputs, named as the Sprocket SDKs name them,
 * `<request id>-<basename>` (compat.md §3.4 step 5), one flat name (no `/`):
 *
 * - a queue job's request id (a UUIDv7): the job must be of the token's deployment and `running`, and,
 *   for a token issued to one replica (the embedded default), claimed by that replica;
 * - a UUIDv4: an output of a direct HTTP request (`/generate`), which Sprocket names after a fresh random
 *   UUIDv4 (queue request ids are never v4, so no job's outputs can be named so).
 *
 * Nothing else: no name with a `/` (volume contents, anything that looks like a directory) and no name of
 * another deployment's job. The owner rule (access.ts) applies on top: an existing file is overwritten only
 * by its own deployment.
 */

/** What storage needs to know of a job: read from the StateStore, so any control-plane replica can tell. */
export interface JobLookup {
  load(deploymentId: string, requestId: string): Promise<{ status: JobStatus; claim?: { replica_id?: string } } | undefined>;
}

const OUTPUT_NAME = /^([0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f])[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})-([^/]+)$/;

/** Throws GANTRY_ERR_STORAGE_NOT_JOB_OUTPUT unless a worker `requester` may write `filename`. */
export async function assertWorkerOutput(filename: string, requester: Requester, jobs: JobLookup): Promise<void> {
  const match = OUTPUT_NAME.exec(filename);
  if (!match) throw refused(filename, 'it is not named "<request id>-<file name>" (no "/")');
  const [, requestId, version] = match as unknown as [string, string, string];
  if (version === '4') return;
  if (version !== '7') throw refused(filename, `"${requestId}" is neither a request id nor a UUIDv4`);
  const job = await jobs.load(requester.deployment_id ?? '', requestId);
  if (!job) throw refused(filename, `request "${requestId}" is not a job of this deployment`);
  if (job.status !== 'running') throw refused(filename, `job "${requestId}" is ${job.status}, not running`);
  if (requester.replica_id !== undefined && job.claim?.replica_id !== requester.replica_id) {
    throw refused(filename, `job "${requestId}" is held by another replica`);
  }
}

function refused(filename: string, why: string): Error {
  return appError(
    'GANTRY_ERR_STORAGE_NOT_JOB_OUTPUT',
    `a worker token may only upload outputs of the job it runs, "<request id>-<file name>"; "${filename}" is refused: ${why}`,
    { param: 'filename' },
  );
}

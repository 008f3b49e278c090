import type { NomadClient } from '../../clients/nomad/index.js';
import { isNomadError } from '../../clients/nomad/http.js';
import type { AllocListStub, Job } from '../../clients/nomad/types.js';
import type { Logger } from '../../shared/logger.js';
import type { JobDirectory } from './job-directory.js';
import { META_REVISION } from './translate.js';

/**
 * The worker tokens of a Nomad deployment, one set per revision: the job's Vault secret carries the token
 * of the revision last applied, and an allocation keeps the token it rendered at start (the template's
 * change mode is `noop`).
 */
export interface DeploymentTokens {
  /** A new token for the deployment's revision (its job's secrets carry it from now on). */
  issue(deploymentId: string, revisionId: string): Promise<string>;
  /** The revisions holding live tokens, each with the time (ms) its newest token was issued. */
  revisions(deploymentId: string): Promise<Array<{ revisionId: string; issuedAt: number }>>;
  /** Revokes the tokens of one revision, or every token of the deployment. */
  revoke(deploymentId: string, revisionId?: string): Promise<void>;
}

export interface RevisionTokenSweeperOptions {
  client: NomadClient;
  directory: JobDirectory;
  tokens: DeploymentTokens;
  logger: Logger;
}

/** Allocations whose task can no longer run, whatever their desired status. */
const CLIENT_TERMINAL = new Set(['complete', 'failed', 'lost']);

/**
 * Revokes the tokens of a deployment's old revisions once no allocation of them runs. A revision's tokens
 * are kept while any allocation of a job version of that revision is not terminal on its client (one that
 * is being stopped still finishes its jobs with it), while it is the job's revision, and while it is the
 * revision issued last (the one in Vault: a reverted job version renders that token when placed).
 * Sweeps of one deployment are serialized; a poke during a sweep runs one more sweep after it.
 */
export class RevisionTokenSweeper {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  constructor(private readonly o: RevisionTokenSweeperOptions) {}

  /** Sweeps the deployment soon; failures are logged (the next poke tries again). */
  poke(deploymentId: string): void {
    if (this.running.has(deploymentId)) {
      this.again.add(deploymentId);
      return;
    }
    const run = this.sweepLoop(deploymentId).finally(() => this.running.delete(deploymentId));
    this.running.set(deploymentId, run);
  }

  /** Waits for every sweep in progress (tests, close). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  private async sweepLoop(deploymentId: string): Promise<void> {
    do {
      this.again.delete(deploymentId);
      await this.sweep(deploymentId).catch((err: unknown) => {
        this.o.logger.warn({ err, deploymentId }, 'revoking the worker tokens of old revisions failed; will retry on the next allocation change');
      });
    } while (this.again.has(deploymentId));
  }

  /** Revokes the tokens of every revision nothing needs any more. */
  async sweep(deploymentId: string): Promise<void> {
    const held = await this.o.tokens.revisions(deploymentId);
    if (held.length < 2) return;
    const jobId = await this.o.directory.jobIdOf(deploymentId);
    if (!jobId) return;
    const keep = await this.needed(jobId);
    if (!keep) return;
    const newest = Math.max(...held.map((h) => h.issuedAt));
    for (const { revisionId, issuedAt } of held) {
      if (keep.has(revisionId) || issuedAt === newest) continue;
      await this.o.tokens.revoke(deploymentId, revisionId);
      this.o.logger.info({ deploymentId, revisionId }, 'revoked the worker token of a revision no allocation runs any more');
    }
  }

  /** The revisions running allocations and the job need; undefined when one cannot be told (keep all). */
  private async needed(jobId: string): Promise<Set<string> | undefined> {
    const [job, allocs] = await Promise.all([this.readJob(jobId), this.o.client.jobs.allocations(jobId)]);
    const keep = new Set<string>();
    if (job && !job.Stop) keep.add(job.Meta?.[META_REVISION] ?? '');
    for (const a of allocs.data.filter((x: AllocListStub) => !CLIENT_TERMINAL.has(x.ClientStatus))) {
      keep.add((await this.o.directory.version(jobId, a.JobVersion)).revisionId);
    }
    return keep.has('') ? undefined : keep;
  }

  private async readJob(jobId: string): Promise<Job | undefined> {
    try {
      return (await this.o.client.jobs.info(jobId)).data;
    } catch (err) {
      if (isNomadError(err, 404)) return undefined;
      throw err;
    }
  }
}

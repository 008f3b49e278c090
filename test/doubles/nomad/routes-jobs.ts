import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ACTIVE_DEPLOYMENT_STATES, type Allocation, type Job, type JobRegisterRequest, type ScalingRequest } from '../../../src/clients/nomad/types.js';
import type { Cluster } from './cluster.js';
import { blockingRead, namespaceOf, NomadHttpError, queryOf } from './http.js';
import { decodeJob, DecodeError, multierror, validateJob } from './validate.js';

type Json = Record<string, unknown>;

export interface JobRoutesOptions {
  cluster: Cluster;
  /** Every register request body received, in order (tests scan them). */
  registered: unknown[];
  vaultEnabled: boolean;
}

const params = (request: FastifyRequest) => request.params as { id: string };

function stored(cluster: Cluster, request: FastifyRequest) {
  const found = cluster.getJob(namespaceOf(request), params(request).id);
  if (!found) throw new NomadHttpError(404, 'job not found');
  return found;
}

/** Nomad's EnforceIndex rule (hashicorp.md §1.4); the failure is an uncoded error, so a 500. */
function enforceIndex(existing: Job | undefined, wanted: number): void {
  const prefix = `Enforcing job modify index ${wanted}`;
  if (wanted === 0 && existing) throw new NomadHttpError(500, `${prefix}: job already exists`);
  if (wanted > 0 && !existing) throw new NomadHttpError(500, `${prefix}: job does not exist`);
  if (wanted > 0 && existing!.JobModifyIndex !== wanted) {
    throw new NomadHttpError(500, `${prefix}: job exists with conflicting job modify index: ${existing!.JobModifyIndex}`);
  }
}

function decodeRegister(request: FastifyRequest, urlId: string | undefined): JobRegisterRequest {
  const body = request.body as Partial<JobRegisterRequest> | null;
  if (!body || typeof body !== 'object' || !body.Job) throw new NomadHttpError(400, 'Job must be specified');
  try {
    decodeJob(body.Job);
  } catch (err) {
    if (err instanceof DecodeError) throw new NomadHttpError(400, `Failed to decode request: ${err.message}`);
    throw err;
  }
  // Only an absent ID is refused here (the agent's own check); an empty one fails validation below (a 500).
  if (body.Job.ID === undefined || body.Job.ID === null) throw new NomadHttpError(400, "Job ID hasn't been provided");
  if (urlId !== undefined && body.Job.ID !== urlId) throw new NomadHttpError(400, 'Job ID does not match name');
  return body as JobRegisterRequest;
}

/** Nomad's default update strategy, given to service groups without one (hashicorp.md §1.3). */
const DEFAULT_UPDATE = { MaxParallel: 1, HealthCheck: 'checks', MinHealthyTime: 10e9, HealthyDeadline: 300e9, ProgressDeadline: 600e9, AutoRevert: false, AutoPromote: false, Canary: 0, Stagger: 30e9 } as const;

/** Fills what Nomad's canonicalization fills before validation. */
function canonical(job: Job, namespace: string): Job {
  const type = job.Type || 'service';
  const groups = job.TaskGroups?.map((g) => ({ ...g, Count: g.Count ?? g.Scaling?.Min ?? 1, ...(type === 'service' && !g.Update ? { Update: { ...DEFAULT_UPDATE } } : {}) }));
  return { ...job, Namespace: namespace, Region: job.Region || 'global', Name: job.Name || job.ID, Type: type, Priority: job.Priority || 50, Datacenters: job.Datacenters ?? ['*'], TaskGroups: groups };
}

function register(o: JobRoutesOptions, request: FastifyRequest, urlId?: string) {
  o.registered.push(request.body);
  const body = decodeRegister(request, urlId);
  const namespace = queryOf(request).namespace || (request.body as Json).Namespace as string || body.Job.Namespace || 'default';
  const job = canonical(body.Job, namespace);
  const errors = validateJob(job as unknown as Json);
  if (errors.length > 0) throw new NomadHttpError(500, multierror(errors));
  const usesVault = job.TaskGroups.some((g) => g.Tasks.some((t) => t.Vault));
  if (usesVault && !o.vaultEnabled) throw new NomadHttpError(500, 'Vault "default" not enabled but used in the job');
  const existing = o.cluster.getJob(namespace, job.ID)?.job;
  if (body.EnforceIndex) enforceIndex(existing, body.JobModifyIndex ?? 0);
  if (body.PreserveCounts && existing) {
    for (const g of job.TaskGroups) g.Count = existing.TaskGroups.find((e) => e.Name === g.Name)?.Count ?? g.Count;
  }
  const { job: saved, evalId } = o.cluster.upsertJob(job, 'job-register');
  return { EvalID: evalId, EvalCreateIndex: o.cluster.tableIndex.evals, JobModifyIndex: saved.JobModifyIndex, Warnings: '', Index: o.cluster.index, LastContact: 0, KnownLeader: false };
}

function validateScale(job: Job, body: ScalingRequest, urlId: string, namespace: string) {
  if (!body.Target?.Group) throw new NomadHttpError(400, 'missing task group name for scaling action');
  if (body.Target.Job !== undefined && body.Target.Job !== urlId) throw new NomadHttpError(400, 'job ID in payload did not match URL');
  if (body.Target.Namespace !== undefined && body.Target.Namespace !== namespace) throw new NomadHttpError(400, 'namespace in payload did not match header');
  const group = job.TaskGroups.find((g) => g.Name === body.Target.Group);
  if (!group) throw new NomadHttpError(400, `task group "${body.Target.Group}" specified for scaling does not exist in job`);
  if (body.Count !== undefined && body.Count < 0) throw new NomadHttpError(400, 'scaling action count can\'t be negative');
  if (group.Scaling && body.Count !== undefined && body.Count < group.Scaling.Min) {
    throw new NomadHttpError(400, `group count was less than scaling policy minimum: ${body.Count} < ${group.Scaling.Min}`);
  }
  if (group.Scaling && body.Count !== undefined && body.Count > group.Scaling.Max) {
    throw new NomadHttpError(400, `group count was greater than scaling policy maximum: ${body.Count} > ${group.Scaling.Max}`);
  }
  return group;
}

function scale(o: JobRoutesOptions, request: FastifyRequest) {
  const { job } = stored(o.cluster, request);
  const body = (request.body ?? {}) as ScalingRequest;
  const group = validateScale(job, body, params(request).id, namespaceOf(request));
  const active = [...o.cluster.deployments.values()].some((d) => d.JobID === job.ID && ACTIVE_DEPLOYMENT_STATES.has(d.Status));
  if (active) throw new NomadHttpError(400, 'job scaling blocked due to active deployment');
  if (body.JobModifyIndex) enforceIndex(job, body.JobModifyIndex);
  if (body.Count === undefined) return { EvalID: '', EvalCreateIndex: 0, JobModifyIndex: job.JobModifyIndex, Warnings: '' };
  const next: Job = { ...job, TaskGroups: job.TaskGroups.map((g) => (g.Name === group.Name ? { ...g, Count: body.Count } : g)) };
  const { job: saved, evalId } = o.cluster.upsertJob(next, 'job-scaling');
  return { EvalID: evalId, EvalCreateIndex: o.cluster.tableIndex.evals, JobModifyIndex: saved.JobModifyIndex, Warnings: '', Index: o.cluster.index };
}

function deregister(o: JobRoutesOptions, request: FastifyRequest) {
  const { job } = stored(o.cluster, request);
  const { evalId, job: saved } = o.cluster.upsertJob({ ...job, Stop: true }, 'job-deregister');
  if (queryOf(request).purge === 'true') o.cluster.purgeJob(job.Namespace, job.ID);
  return { EvalID: evalId, EvalCreateIndex: o.cluster.tableIndex.evals, JobModifyIndex: saved.JobModifyIndex, Index: o.cluster.index };
}

function scaleStatus(o: JobRoutesOptions, request: FastifyRequest) {
  const { job } = stored(o.cluster, request);
  const allocs = o.cluster.jobAllocs(job.Namespace, job.ID).filter((a) => a.DesiredStatus === 'run');
  const groups = Object.fromEntries(job.TaskGroups.map((g) => [g.Name, {
    Desired: g.Count, Placed: allocs.length, Running: allocs.filter((a) => a.ClientStatus === 'running').length,
    Healthy: allocs.filter((a) => a.DeploymentStatus?.Healthy === true).length, Unhealthy: allocs.filter((a) => a.DeploymentStatus?.Healthy === false).length, Events: [],
  }]));
  return { JobID: job.ID, Namespace: job.Namespace, JobCreateIndex: job.CreateIndex, JobModifyIndex: job.JobModifyIndex, JobStopped: job.Stop, TaskGroups: groups };
}

/** Jobs: register, read, versions, stop/purge, scale, and the job's allocations, evaluations and deployments. */
export async function jobRoutes(app: FastifyInstance, o: JobRoutesOptions): Promise<void> {
  const { cluster } = o;
  app.post('/v1/jobs', async (request) => register(o, request));
  app.put('/v1/jobs', async (request) => register(o, request));
  app.get('/v1/jobs', async (request, reply) =>
    blockingRead(cluster, 'jobs', request, reply, () => {
      const { prefix = '', meta } = queryOf(request);
      const ns = namespaceOf(request);
      return [...cluster.jobs.values()]
        .map((s) => s.job)
        .filter((j) => (ns === '*' || j.Namespace === ns) && j.ID.startsWith(prefix))
        .map((j) => ({ ID: j.ID, Name: j.Name, Namespace: j.Namespace, Type: j.Type, Status: j.Status, Stop: j.Stop, CreateIndex: j.CreateIndex, ModifyIndex: j.ModifyIndex, JobModifyIndex: j.JobModifyIndex, SubmitTime: j.SubmitTime, ...(meta === 'true' ? { Meta: j.Meta } : {}) }));
    }));
  app.post('/v1/job/:id', async (request) => register(o, request, params(request).id));
  app.put('/v1/job/:id', async (request) => register(o, request, params(request).id));
  app.get('/v1/job/:id', async (request, reply) => blockingRead(cluster, 'jobs', request, reply, () => stored(cluster, request).job));
  app.delete('/v1/job/:id', async (request) => deregister(o, request));
  app.get('/v1/job/:id/versions', async (request, reply) =>
    blockingRead(cluster, 'jobs', request, reply, () => ({ Versions: [...stored(cluster, request).versions].reverse(), Diffs: null })));
  app.post('/v1/job/:id/scale', async (request) => scale(o, request));
  app.put('/v1/job/:id/scale', async (request) => scale(o, request));
  app.get('/v1/job/:id/scale', async (request, reply) => blockingRead(cluster, 'jobs', request, reply, () => scaleStatus(o, request)));
  app.get('/v1/job/:id/allocations', async (request, reply) =>
    blockingRead(cluster, 'allocs', request, reply, () => cluster.jobAllocs(namespaceOf(request), params(request).id).map(stubOf)));
  app.get('/v1/job/:id/evaluations', async (request, reply) =>
    blockingRead(cluster, 'evals', request, reply, () => [...cluster.evals.values()].filter((e) => e.JobID === params(request).id && e.Namespace === namespaceOf(request))));
  app.get('/v1/job/:id/deployments', async (request, reply) =>
    blockingRead(cluster, 'deployment', request, reply, () => [...cluster.deployments.values()].filter((d) => d.JobID === params(request).id)));
  app.get('/v1/job/:id/deployment', async (request, reply) =>
    blockingRead(cluster, 'deployment', request, reply, () => [...cluster.deployments.values()].filter((d) => d.JobID === params(request).id).sort((a, b) => b.CreateIndex - a.CreateIndex)[0] ?? null));
}

/** An allocation as list endpoints show it: no Job, no resources. */
export function stubOf(alloc: Allocation) {
  const { Job: _job, AllocatedResources: _r, ...stub } = alloc;
  return stub;
}

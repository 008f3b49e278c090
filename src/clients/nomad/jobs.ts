import type { NomadHttp, QueryOptions, Result } from './http.js';
import type { AllocListStub, Deployment, Evaluation, Job, JobListStub, JobRegisterRequest, JobRegisterResponse, ScalingRequest } from './types.js';

const job = (id: string) => `/v1/job/${encodeURIComponent(id)}`;

/** `/v1/jobs` and `/v1/job/:id/…` (Nomad's api/jobs.go). */
export class Jobs {
  constructor(private readonly http: NomadHttp) {}

  list(prefix: string, q: QueryOptions = {}): Promise<Result<JobListStub[]>> {
    return this.http.get('/v1/jobs', { ...q, params: { ...q.params, prefix, meta: 'true' } });
  }

  info(id: string, q: QueryOptions = {}): Promise<Result<Job>> {
    return this.http.get(job(id), q);
  }

  versions(id: string): Promise<Result<{ Versions: Job[] }>> {
    return this.http.get(`${job(id)}/versions`);
  }

  register(request: JobRegisterRequest): Promise<Result<JobRegisterResponse>> {
    return this.http.write('POST', job(request.Job.ID), request);
  }

  /** Stops the job; `purge` removes it at once (later reads 404). */
  deregister(id: string, purge: boolean): Promise<Result<{ EvalID: string }>> {
    return this.http.write('DELETE', job(id), undefined, purge ? { purge: 'true' } : {});
  }

  scale(id: string, request: ScalingRequest): Promise<Result<JobRegisterResponse>> {
    return this.http.write('POST', `${job(id)}/scale`, request);
  }

  allocations(id: string, q: QueryOptions = {}): Promise<Result<AllocListStub[]>> {
    return this.http.get(`${job(id)}/allocations`, q);
  }

  evaluations(id: string): Promise<Result<Evaluation[]>> {
    return this.http.get(`${job(id)}/evaluations`);
  }

  /** The latest deployment, or null. */
  latestDeployment(id: string, q: QueryOptions = {}): Promise<Result<Deployment | null>> {
    return this.http.get(`${job(id)}/deployment`, q);
  }
}

import type { Readable } from 'node:stream';
import type { NomadHttp, QueryOptions, Result } from './http.js';
import type { AllocListStub, Allocation } from './types.js';

/** `/v1/allocations`, `/v1/allocation/:id` and the client fs logs (Nomad's api/allocations.go, api/fs.go). */
export class Allocations {
  constructor(private readonly http: NomadHttp) {}

  /** Every allocation of the client's namespace; blocking with `q.index`. */
  list(q: QueryOptions = {}): Promise<Result<AllocListStub[]>> {
    return this.http.get('/v1/allocations', q);
  }

  info(id: string, q: QueryOptions = {}): Promise<Result<Allocation>> {
    return this.http.get(`/v1/allocation/${encodeURIComponent(id)}`, q);
  }

  /** One log stream of one task as framed JSON (`plain=false`, hashicorp.md §1.8). */
  logs(id: string, task: string, type: 'stdout' | 'stderr', follow: boolean, signal?: AbortSignal): Promise<Readable> {
    const params = { task, type, follow: String(follow), origin: 'start', offset: '0', plain: 'false' };
    return this.http.stream(`/v1/client/fs/logs/${encodeURIComponent(id)}`, params, signal);
  }
}

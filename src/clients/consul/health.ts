import type { ConsulHttp, QueryOptions, Response } from './http.js';

export interface ServiceEntry {
  Node: { Node: string; Address: string; Datacenter: string };
  Service: { ID: string; Service: string; Tags: string[] | null; Address: string; Port: number; Meta: Record<string, string> | null };
  Checks: Array<{ CheckID: string; Status: 'passing' | 'warning' | 'critical'; ServiceID: string }>;
}

/** `/v1/health` (hashicorp.md §3.6). */
export class Health {
  constructor(private readonly http: ConsulHttp) {}

  /** Instances of `service`; with `passing`, only those whose every check passes. Blocks with `index`. */
  async service(service: string, passing: boolean, options?: QueryOptions): Promise<Response<ServiceEntry[]>> {
    return this.http.request<ServiceEntry[]>({ method: 'GET', path: `/v1/health/service/${encodeURIComponent(service)}`, query: { passing }, options });
  }
}

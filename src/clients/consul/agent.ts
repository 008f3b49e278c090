import type { ConsulHttp } from './http.js';

export interface ServiceRegistration {
  ID: string;
  Name: string;
  Address?: string;
  Port?: number;
  Tags?: string[];
  Meta?: Record<string, string>;
  Check?: {
    CheckID?: string;
    Name?: string;
    HTTP?: string;
    TTL?: string;
    Interval?: string;
    Timeout?: string;
    DeregisterCriticalServiceAfter?: string;
    Status?: 'passing' | 'warning' | 'critical';
  };
}

/** `/v1/agent/service` and `/v1/agent/check` (hashicorp.md §3.6): registrations live on the agent that is called. */
export class Agent {
  constructor(private readonly http: ConsulHttp) {}

  async register(service: ServiceRegistration): Promise<void> {
    await this.http.request<string>({ method: 'PUT', path: '/v1/agent/service/register', body: service });
  }

  async deregister(id: string): Promise<void> {
    await this.http.request<string>({ method: 'PUT', path: `/v1/agent/service/deregister/${encodeURIComponent(id)}` });
  }

  /** Marks a TTL check passing, re-arming its TTL; false when the agent does not know the check (404). */
  async passCheck(checkId: string, note?: string): Promise<boolean> {
    const res = await this.http.request<string>({ method: 'PUT', path: `/v1/agent/check/pass/${encodeURIComponent(checkId)}`, query: { note }, ok: [200, 404] });
    return res.status === 200;
  }
}

import type { ConsulHttp } from './http.js';

export interface ServiceRegistration {
  ID: string;
  Name: string;
  Address?: string;
  Port?: number;
  Tags?: string[];
  Meta?: Record<string, string>;
  Check?: { HTTP?: string; TTL?: string; Interval?: string; Timeout?: string; DeregisterCriticalServiceAfter?: string; Status?: string };
}

/** `/v1/agent/service` (hashicorp.md §3.6): registrations live on the agent that is called. */
export class Agent {
  constructor(private readonly http: ConsulHttp) {}

  async register(service: ServiceRegistration): Promise<void> {
    await this.http.request<string>({ method: 'PUT', path: '/v1/agent/service/register', body: service });
  }

  async deregister(id: string): Promise<void> {
    await this.http.request<string>({ method: 'PUT', path: `/v1/agent/service/deregister/${encodeURIComponent(id)}` });
  }
}

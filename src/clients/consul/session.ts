import type { ConsulHttp, QueryOptions, Response } from './http.js';

export interface SessionCreate {
  Name?: string;
  /** Go duration, 10s–24h. */
  TTL?: string;
  /** Go duration (`15s` default, at most `60s`). */
  LockDelay?: string;
  Behavior?: 'release' | 'delete';
  /** Node checks; `[]` drops the agent's `serfHealth` (and, since Consul 1.7, every node check). */
  Checks?: string[];
  /** Service checks the session is tied to: one going critical or being deregistered invalidates it. */
  ServiceChecks?: Array<{ ID: string; Namespace?: string }>;
}

export interface SessionInfo {
  ID: string;
  Name: string;
  Node: string;
  /** Nanoseconds. */
  LockDelay: number;
  Behavior: 'release' | 'delete';
  TTL: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** `/v1/session` (hashicorp.md §3.2). */
export class Sessions {
  constructor(private readonly http: ConsulHttp) {}

  async create(body: SessionCreate): Promise<string> {
    const res = await this.http.request<{ ID: string }>({ method: 'PUT', path: '/v1/session/create', body });
    return res.data.ID;
  }

  /** The renewed session, or undefined when Consul no longer knows it (404: it was invalidated). */
  async renew(id: string): Promise<SessionInfo | undefined> {
    const res = await this.http.request<SessionInfo[] | string>({ method: 'PUT', path: `/v1/session/renew/${id}`, ok: [200, 404] });
    return res.status === 404 ? undefined : (res.data as SessionInfo[])[0];
  }

  async destroy(id: string): Promise<void> {
    await this.http.request<boolean>({ method: 'PUT', path: `/v1/session/destroy/${id}` });
  }

  async info(id: string, options?: QueryOptions): Promise<Response<SessionInfo | undefined>> {
    const res = await this.http.request<SessionInfo[]>({ method: 'GET', path: `/v1/session/info/${id}`, options });
    return { ...res, data: res.data[0] };
  }
}

import type { NomadHttp, Result } from './http.js';

export interface AgentSelf {
  config?: { Client?: { Enabled?: boolean; MaxKillTimeout?: string } };
}

/** `/v1/agent/self` (Nomad's api/agent.go). */
export class Agent {
  constructor(private readonly http: NomadHttp) {}

  self(): Promise<Result<AgentSelf>> {
    return this.http.get('/v1/agent/self');
  }
}

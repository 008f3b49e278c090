import { Agent } from './agent.js';
import { Allocations } from './allocations.js';
import { NomadHttp, type NomadClientOptions } from './http.js';
import { Jobs } from './jobs.js';

export * from './http.js';

/** A thin typed Nomad client: one object per resource over one transport. */
export class NomadClient {
  readonly http: NomadHttp;
  readonly jobs: Jobs;
  readonly allocations: Allocations;
  readonly agent: Agent;

  constructor(options: NomadClientOptions) {
    this.http = new NomadHttp(options);
    this.jobs = new Jobs(this.http);
    this.allocations = new Allocations(this.http);
    this.agent = new Agent(this.http);
  }
}

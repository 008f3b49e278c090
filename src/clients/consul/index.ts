import { Agent } from './agent.js';
import { Health } from './health.js';
import { ConsulHttp, type ConsulClientOptions } from './http.js';
import { Kv } from './kv.js';
import { Sessions } from './session.js';
import { Txn } from './txn.js';

export type { ConsulClientOptions, QueryMeta, QueryOptions, Response } from './http.js';
export { UnexpectedResponseError, isTransient } from './http.js';
export type { KvPair, KvWriteOptions } from './kv.js';
export type { TxnKvOp, TxnResponse } from './txn.js';
export type { SessionCreate, SessionInfo } from './session.js';
export type { ServiceEntry } from './health.js';
export type { ServiceRegistration } from './agent.js';

/**
 * A thin typed Consul client (STYLE.md rule 7). The npm `consul` package is not used: it rejects a txn's
 * 409 and hides its `Errors[]`, sends no `NodeChecks`, and has no lock helper (hashicorp.md §3.7).
 */
export class ConsulClient {
  readonly kv: Kv;
  readonly txn: Txn;
  readonly sessions: Sessions;
  readonly health: Health;
  readonly agent: Agent;
  private readonly http: ConsulHttp;

  constructor(options: ConsulClientOptions) {
    this.http = new ConsulHttp(options);
    this.kv = new Kv(this.http);
    this.txn = new Txn(this.http);
    this.sessions = new Sessions(this.http);
    this.health = new Health(this.http);
    this.agent = new Agent(this.http);
  }

  close(): void {
    this.http.close();
  }
}

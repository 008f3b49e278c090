import { UnexpectedResponseError, type ConsulHttp } from './http.js';
import type { KvPair } from './kv.js';

/** One KV operation of `/v1/txn` (hashicorp.md §3.4); `Value` base64. */
export interface TxnKvOp {
  Verb:
    | 'set'
    | 'cas'
    | 'lock'
    | 'unlock'
    | 'get'
    | 'get-or-empty'
    | 'get-tree'
    | 'check-index'
    | 'check-session'
    | 'check-not-exists'
    | 'delete'
    | 'delete-cas'
    | 'delete-tree';
  Key: string;
  Value?: string;
  Flags?: number;
  Index?: number;
  Session?: string;
}

export type TxnResponse =
  | { ok: true; results: KvPair[] }
  | { ok: false; errors: Array<{ OpIndex: number; What: string }> };

interface TxnBody {
  Results: Array<{ KV: KvPair }> | null;
  Errors: Array<{ OpIndex: number; What: string }> | null;
}

/** `PUT /v1/txn`: 200 with results, or 409 with the failed operations (everything rolled back). */
export class Txn {
  constructor(private readonly http: ConsulHttp) {}

  async apply(ops: TxnKvOp[]): Promise<TxnResponse> {
    const res = await this.http.request<TxnBody>({
      method: 'PUT',
      path: '/v1/txn',
      body: ops.map((op) => ({ KV: op })),
      ok: [200, 409],
    });
    if (typeof res.data !== 'object') throw new UnexpectedResponseError('PUT', '/v1/txn', res.status, String(res.data));
    if (res.status === 409) return { ok: false, errors: res.data.Errors ?? [] };
    return { ok: true, results: (res.data.Results ?? []).map((r) => r.KV) };
  }
}

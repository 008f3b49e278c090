import type { ConsulHttp, QueryOptions, Response } from './http.js';

/** A KV entry as Consul sends it; `Value` is base64 (null when empty). */
export interface KvPair {
  Key: string;
  Value: string | null;
  Flags: number;
  Session?: string;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface KvWriteOptions {
  flags?: number;
  /** Write only if the key's ModifyIndex is this (0: only if absent). */
  cas?: number;
  /** Lock the key for this session (false while held by another or in lock-delay). */
  acquire?: string;
  /** Unlock the key held by this session. */
  release?: string;
}

/** `/v1/kv` (hashicorp.md §3.3). Keys are sent as given: callers pass keys in Consul's safe alphabet. */
export class Kv {
  constructor(private readonly http: ConsulHttp) {}

  /** One entry, or undefined on 404 (whose `meta.lastIndex` is still good for a blocking query). */
  async get(key: string, options?: QueryOptions): Promise<Response<KvPair | undefined>> {
    const res = await this.http.request<KvPair[] | string>({ method: 'GET', path: `/v1/kv/${key}`, ok: [200, 404], options });
    return { ...res, data: res.status === 404 ? undefined : (res.data as KvPair[])[0] };
  }

  /** Every entry under `prefix` (empty on 404). */
  async list(prefix: string, options?: QueryOptions): Promise<Response<KvPair[]>> {
    const res = await this.http.request<KvPair[] | string>({ method: 'GET', path: `/v1/kv/${prefix}`, query: { recurse: true }, ok: [200, 404], options });
    return { ...res, data: res.status === 404 ? [] : (res.data as KvPair[]) };
  }

  /** Key names under `prefix`, folded at `separator` when given (empty on 404). */
  async keys(prefix: string, separator?: string, options?: QueryOptions): Promise<Response<string[]>> {
    const res = await this.http.request<string[] | string>({
      method: 'GET',
      path: `/v1/kv/${prefix}`,
      query: { keys: true, separator },
      ok: [200, 404],
      options,
    });
    return { ...res, data: res.status === 404 ? [] : (res.data as string[]) };
  }

  /** Resolves Consul's `true`/`false` (a plain write is always true). */
  async put(key: string, value: Buffer, write: KvWriteOptions = {}): Promise<boolean> {
    const res = await this.http.request<boolean>({ method: 'PUT', path: `/v1/kv/${key}`, query: { ...write }, body: value });
    return res.data === true;
  }

  /** With `cas`, false when the index no longer matches (a missing key counts as deleted). */
  async delete(key: string, options: { cas?: number; recurse?: boolean } = {}): Promise<boolean> {
    const res = await this.http.request<boolean>({ method: 'DELETE', path: `/v1/kv/${key}`, query: options });
    return res.data === true;
  }
}

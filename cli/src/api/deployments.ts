import type { HttpClient } from './http.js';
import type { Deployment, List } from './types.js';

/** `/v1/deployments` (compat.md §5.1); `{id}` takes an id or a name. */
export class DeploymentsApi {
  constructor(private readonly http: HttpClient) {}

  list(): Promise<List<Deployment>> {
    return this.http.json('GET', '/deployments');
  }

  get(name: string): Promise<Deployment> {
    return this.http.json('GET', `/deployments/${encodeURIComponent(name)}`);
  }

  create(body: Record<string, unknown>): Promise<Deployment> {
    return this.http.json('POST', '/deployments', body);
  }

  update(name: string, body: Record<string, unknown>): Promise<Deployment> {
    return this.http.json('PATCH', `/deployments/${encodeURIComponent(name)}`, body);
  }

  destroy(name: string): Promise<unknown> {
    return this.http.json('DELETE', `/deployments/${encodeURIComponent(name)}`);
  }

  logs(name: string, replicaId?: string): Promise<{ lines?: string[] }> {
    return this.http.json('GET', `/deployments/${encodeURIComponent(name)}/logs`, undefined, { replica_id: replicaId });
  }

  /** `?follow=true` streams NDJSON, one `{"lines": [...]}` per line (compat.md §8.26). */
  followLogs(name: string, onLines: (lines: string[]) => void, signal?: AbortSignal): Promise<void> {
    return this.http.stream(`/deployments/${encodeURIComponent(name)}/logs`, { follow: true }, (v) => onLines((v as { lines?: string[] }).lines ?? []), signal);
  }
}

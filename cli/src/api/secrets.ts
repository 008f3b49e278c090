import type { HttpClient } from './http.js';
import type { List, Secret } from './types.js';

/** `/v1/deployments/secrets` (compat.md §5.2). Values go in, never come out. */
export class SecretsApi {
  constructor(private readonly http: HttpClient) {}

  list(): Promise<List<Secret>> {
    return this.http.json('GET', '/deployments/secrets');
  }

  create(body: { name: string; value: string; description: string }): Promise<Secret> {
    return this.http.json('POST', '/deployments/secrets', body);
  }

  update(id: string, body: { name: string; value: string; description: string }): Promise<Secret> {
    return this.http.json('PATCH', `/deployments/secrets/${encodeURIComponent(id)}`, body);
  }

  delete(id: string): Promise<unknown> {
    return this.http.json('DELETE', `/deployments/secrets/${encodeURIComponent(id)}`);
  }
}

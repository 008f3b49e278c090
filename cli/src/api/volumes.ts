import type { HttpClient } from './http.js';
import type { List, Volume } from './types.js';

const BASE = '/deployments/storage/volumes';

/** `/v1/deployments/storage/volumes` (compat.md §5.3). */
export class VolumesApi {
  constructor(private readonly http: HttpClient) {}

  list(): Promise<List<Volume>> {
    return this.http.json('GET', BASE);
  }

  get(name: string, version?: number): Promise<Volume> {
    return this.http.json('GET', `${BASE}/${encodeURIComponent(name)}`, undefined, { version });
  }

  create(name: string, sourcePrefix: string): Promise<Volume> {
    return this.http.json('POST', BASE, { name, type: 'readOnly', content: { type: 'files', source_prefix: sourcePrefix } });
  }

  update(name: string, sourcePrefix: string): Promise<Volume> {
    return this.http.json('PATCH', `${BASE}/${encodeURIComponent(name)}`, { content: { type: 'files', source_prefix: sourcePrefix } });
  }

  delete(name: string): Promise<unknown> {
    return this.http.json('DELETE', `${BASE}/${encodeURIComponent(name)}`);
  }
}

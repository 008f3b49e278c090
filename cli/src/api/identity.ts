import type { HttpClient } from './http.js';

export interface Whoami {
  project_id?: string;
  /** Gantry's extension: which scheduler runs replicas; `local` cannot run images (no container engine). */
  x_gantry_scheduler?: 'local' | 'nomad';
  [key: string]: unknown;
}

/** `/v1/whoami` and the registry base path (compat.md §1.3, §8.9, §8.23). */
export class IdentityApi {
  constructor(private readonly http: HttpClient) {}

  whoami(): Promise<Whoami> {
    return this.http.json('GET', '/whoami');
  }

  basePath(): Promise<{ 'base-path': string; login_with_api_key?: boolean }> {
    return this.http.json('GET', '/image-repositories/base-path');
  }
}

import type { HttpClient } from './http.js';

export interface JobStatus {
  request_id?: string;
  status?: string;
  [key: string]: unknown;
}

/** The Queue API (compat.md §4); `model` is the deployment name. */
export class QueueApi {
  constructor(private readonly http: HttpClient) {}

  submit(model: string, payload: unknown, priority: number): Promise<{ requestId?: string; [key: string]: unknown }> {
    return this.http.json('POST', '/queue/submit', { model, payload, priority });
  }

  status(model: string, requestId: string): Promise<JobStatus> {
    return this.http.json('GET', '/queue/status', undefined, { model, request_id: requestId });
  }

  metrics(model: string): Promise<unknown> {
    return this.http.json('GET', '/queue/metrics', undefined, { model });
  }

  clear(model: string): Promise<unknown> {
    return this.http.json('POST', '/queue/clear', { model });
  }
}

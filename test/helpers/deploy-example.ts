import { expect } from 'vitest';
import { callApi, until, type ServerProcess } from './server-process.js';

/** A deployment body as `jig deploy` would send it; `name` is also the URL of the deployment. */
export type ExampleDeployment = Record<string, unknown> & { name: string };

/**
 * Creates a deployment on a server process (expecting 200) and waits until it is Ready. Examples build
 * their replica from source first, so `readyWithinMs` is long (default: 240000).
 */
export async function deployExample(server: ServerProcess, key: string, body: ExampleDeployment, readyWithinMs = 240_000): Promise<void> {
  const created = await callApi(server, key, 'POST', '/v1/deployments', body);
  expect(created.status, JSON.stringify(created.json)).toBe(200);
  const isReady = async () => ((await callApi(server, key, 'GET', `/v1/deployments/${body.name}`)).json.status === 'Ready' ? true : undefined);
  await until('Ready', isReady, readyWithinMs, 500);
}

/** `GET /v1/queue/status` as the e2e tests read it. */
export type JobStatus = Record<string, unknown> & { status: string; info: Record<string, unknown>; outputs: Record<string, unknown> };

/** Waits until every job of `ids` is done or failed; their statuses, in the order of `ids`. */
export function finishedJobs(server: ServerProcess, key: string, model: string, ids: string[], ms: number, intervalMs: number): Promise<JobStatus[]> {
  const statusOf = async (id: string) => (await callApi(server, key, 'GET', `/v1/queue/status?model=${model}&request_id=${id}`)).json as JobStatus;
  return until(`${ids.length} job(s) of ${model} to finish`, async () => {
    const all = await Promise.all(ids.map(statusOf));
    return all.every((s) => s.status === 'done' || s.status === 'failed') ? all : undefined;
  }, ms, intervalMs);
}

/** One job's status once it is done or failed. */
export async function finishedJob(server: ServerProcess, key: string, model: string, id: string, ms = 60_000, intervalMs = 500): Promise<JobStatus> {
  return (await finishedJobs(server, key, model, [id], ms, intervalMs))[0]!;
}

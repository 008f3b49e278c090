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

import type { AddressInfo } from 'node:net';
import Together from 'together-ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryScheduler } from '../../doubles/memory-scheduler.js';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

describe('Deployments API through the official together-ai client', () => {
  let server: TestServer;
  let scheduler: MemoryScheduler;
  let base: string;
  let client: Together;

  beforeAll(async () => {
    scheduler = new MemoryScheduler();
    server = await createTestServer({ scheduler });
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
    client = new Together({ apiKey: server.adminKey, baseURL: `${base}/v1`, maxRetries: 0 });
  });
  afterAll(async () => server.close());

  it('deploys, retrieves, updates, lists, reads logs and destroys unchanged', async () => {
    const created = await client.beta.jig.deploy({ name: 'sdk-app', image: 'registry.local/sdk-app:latest', gpu_type: 'h100-80gb', gpu_count: 1 });
    expect(created).toMatchObject({ name: 'sdk-app', status: 'Ready', gpu_type: 'h100-80gb' });
    expect((await client.beta.jig.retrieve('sdk-app')).id).toBe(created.id);
    const updated = await client.beta.jig.update('sdk-app', { description: 'now described', autoscaling: {} });
    expect(updated.description).toBe('now described');
    expect((await client.beta.jig.list()).data?.map((d) => d.name)).toEqual(['sdk-app']);
    const logs = await client.beta.jig.retrieveLogs('sdk-app');
    expect(logs.lines?.some((l) => l.includes('started'))).toBe(true);
    await client.beta.jig.destroy('sdk-app');
    await expect(client.beta.jig.retrieve('sdk-app')).rejects.toMatchObject({ status: 404 });
  });

  it('streams logs as NDJSON with follow=true until the client goes away', async () => {
    const { id } = await client.beta.jig.deploy({ name: 'follow-me', image: 'img', gpu_type: 'h100-80gb', gpu_count: 1 });
    const [replica] = await scheduler.replicas(id!);
    const controller = new AbortController();
    const res = await fetch(`${base}/v1/deployments/follow-me/logs?follow=true`, {
      headers: { authorization: `Bearer ${server.adminKey}` },
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const reader = res.body!.getReader();
    const first = JSON.parse(new TextDecoder().decode((await reader.read()).value));
    expect(first.lines[0]).toContain('started');
    scheduler.pushLogs(replica!.replicaId, ['later line']);
    const second = JSON.parse(new TextDecoder().decode((await reader.read()).value));
    expect(second).toEqual({ lines: ['later line'] });
    controller.abort();
  });
});

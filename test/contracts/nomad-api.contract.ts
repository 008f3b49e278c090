import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

/** What the Nomad API contract needs: an agent's address, and (for the double) control of allocations. */
export interface NomadApiHarness {
  url: string;
  token: string | undefined;
  /** Leaves new allocations pending until the test says otherwise (the double); undefined on a real agent. */
  holdAllocations?: (hold: boolean) => void;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of many shapes, checked by toMatchObject
  json: () => any;
  index: number;
}

/**
 * The facts about Nomad's HTTP API that Gantry's client relies on (hashicorp.md §1), run against the
 * double and, when `NOMAD_ADDR` is set, against a real agent: both must answer alike.
 */
export function describeNomadApiContract(name: string, makeHarness: () => Promise<NomadApiHarness>): void {
  describe(`Nomad API contract: ${name}`, () => {
    let h: NomadApiHarness;
    /** Every job id of this run starts with it, so the end of the run can purge exactly its own jobs. */
    const prefix = `gantry-contract-${process.pid}-${randomUUID().slice(0, 4)}-`;
    const jobs: string[] = [];
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      for (const id of jobs.splice(0)) await call('DELETE', `/v1/job/${id}?purge=true`);
      await h.close();
    });
    // A job a test registered under an id it did not record (or whose purge failed) is purged by prefix.
    afterAll(async () => {
      h = await makeHarness();
      const left = (await call('GET', `/v1/jobs?prefix=${prefix}`)).json() as Array<{ ID: string }>;
      for (const { ID } of left) await call('DELETE', `/v1/job/${ID}?purge=true`);
      await h.close();
    });

    async function call(method: string, path: string, body?: unknown, token = h.token): Promise<Answer> {
      const res = await fetch(h.url + path, {
        method,
        headers: { ...(token ? { 'X-Nomad-Token': token } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, text, json: () => JSON.parse(text), index: Number(res.headers.get('x-nomad-index') ?? 0) };
    }

    function job(count = 1, image = 'busybox:1.36') {
      const id = `${prefix}${randomUUID().slice(0, 8)}`;
      jobs.push(id);
      return {
        ID: id, Name: id, Type: 'service', Datacenters: ['*'],
        TaskGroups: [{
          Name: 'worker', Count: count, Scaling: { Enabled: false, Min: 0, Max: 5, Type: 'horizontal', Policy: {} },
          Networks: [{ Mode: 'host', DynamicPorts: [{ Label: 'http', To: 8000 }] }],
          Tasks: [{ Name: 'worker', Driver: 'docker', Config: { image, command: 'sleep', args: ['3600'], ports: ['http'] }, Resources: { CPU: 100, MemoryMB: 64 }, KillTimeout: 5_000_000_000 }],
        }],
      };
    }

    it('registers a job wrapped in {"Job": …} and reads it back with its modify indexes', async () => {
      const j = job();
      const registered = await call('POST', '/v1/jobs', { Job: j });
      expect(registered.status).toBe(200);
      expect(registered.json()).toMatchObject({ EvalID: expect.any(String), JobModifyIndex: expect.any(Number) });
      const read = await call('GET', `/v1/job/${j.ID}`);
      expect(read.json()).toMatchObject({ ID: j.ID, Version: 0, Stop: false, JobModifyIndex: registered.json().JobModifyIndex });
      expect(read.index).toBeGreaterThan(0);
    });

    it('answers a 500 whose text says "Enforcing job modify index" on an EnforceIndex conflict', async () => {
      const j = job();
      const first = await call('POST', '/v1/jobs', { Job: j, EnforceIndex: true, JobModifyIndex: 0 });
      expect(first.status).toBe(200);
      const again = await call('POST', '/v1/jobs', { Job: j, EnforceIndex: true, JobModifyIndex: 0 });
      expect(again.status).toBe(500);
      expect(again.text).toContain('Enforcing job modify index 0: job already exists');
      const stale = await call('POST', `/v1/job/${j.ID}`, { Job: { ...j, Meta: { a: 'b' } }, EnforceIndex: true, JobModifyIndex: 1 });
      expect(stale.status).toBe(500);
      expect(stale.text).toMatch(/Enforcing job modify index 1: job exists with conflicting job modify index: \d+/);
      const ok = await call('POST', `/v1/job/${j.ID}`, { Job: { ...j, Meta: { a: 'b' } }, EnforceIndex: true, JobModifyIndex: first.json().JobModifyIndex });
      expect(ok.status).toBe(200);
      expect((await call('GET', `/v1/job/${j.ID}/versions`)).json().Versions.map((v: { Version: number }) => v.Version)).toEqual([1, 0]);
    });

    it('keeps the current count when PreserveCounts is set', async () => {
      const j = job(2);
      await call('POST', '/v1/jobs', { Job: j });
      await call('POST', '/v1/jobs', { Job: { ...j, Meta: { rev: '2' }, TaskGroups: [{ ...j.TaskGroups[0], Count: 1 }] }, PreserveCounts: true });
      expect((await call('GET', `/v1/job/${j.ID}`)).json().TaskGroups[0].Count).toBe(2);
    });

    it('refuses bad jobs: no Job, no ID, an empty ID, a duration as a string, cpu with cores, count outside the scaling bounds', async () => {
      expect((await call('POST', '/v1/jobs', {})).status).toBe(400);
      const { ID: _id, ...withoutId } = job();
      const noId = await call('POST', '/v1/jobs', { Job: withoutId });
      expect([noId.status, noId.text]).toEqual([400, "Job ID hasn't been provided"]);
      // An empty ID passes the agent's check and fails the job's validation: a Go multierror in a 500.
      const emptyId = await call('POST', '/v1/jobs', { Job: { ...job(), ID: '' } });
      expect(emptyId.status).toBe(500);
      expect(emptyId.text).toMatch(/\d+ errors? occurred:\n/);
      expect(emptyId.text).toContain('\n\t* Missing job ID\n');
      const j = job();
      const stringDuration = await call('POST', '/v1/jobs', { Job: { ...j, TaskGroups: [{ ...j.TaskGroups[0], Tasks: [{ ...j.TaskGroups[0]!.Tasks[0], KillTimeout: '30s' }] }] } });
      expect(stringDuration.status).toBe(400);
      const both = await call('POST', '/v1/jobs', { Job: { ...j, TaskGroups: [{ ...j.TaskGroups[0], Tasks: [{ ...j.TaskGroups[0]!.Tasks[0], Resources: { CPU: 100, Cores: 1, MemoryMB: 64 } }] }] } });
      expect(both.status).toBe(500);
      expect(both.text).toContain("Task can only ask for 'cpu' or 'cores' resource, not both.");
      const over = await call('POST', '/v1/jobs', { Job: { ...j, TaskGroups: [{ ...j.TaskGroups[0], Count: 9 }] } });
      expect(over.status).toBe(500);
      expect(over.text).toMatch(/error/);
    });

    it('answers 404 "job not found" for an unknown job, in plain text', async () => {
      const missing = await call('GET', '/v1/job/gantry-no-such-job');
      expect([missing.status, missing.text]).toEqual([404, 'job not found']);
    });

    it('scales a job through /scale within its bounds, and refuses counts outside them', async () => {
      const j = job(1);
      await call('POST', '/v1/jobs', { Job: j });
      if (h.holdAllocations === undefined) return; // a real agent may still be deploying (400 "blocked")
      const noGroup = await call('POST', `/v1/job/${j.ID}/scale`, { Count: 2, Target: {} });
      expect([noGroup.status, noGroup.text]).toEqual([400, 'missing task group name for scaling action']);
      const over = await call('POST', `/v1/job/${j.ID}/scale`, { Count: 9, Target: { Group: 'worker' } });
      expect(over.status).toBe(400);
      const scaled = await call('POST', `/v1/job/${j.ID}/scale`, { Count: 3, Target: { Group: 'worker' } });
      expect(scaled.status).toBe(200);
      expect((await call('GET', `/v1/job/${j.ID}`)).json().TaskGroups[0].Count).toBe(3);
    });

    it('refuses a scale while a deployment is active', async () => {
      if (!h.holdAllocations) return;
      h.holdAllocations(true);
      const j = job(1);
      await call('POST', '/v1/jobs', { Job: j });
      const blocked = await call('POST', `/v1/job/${j.ID}/scale`, { Count: 2, Target: { Group: 'worker' } });
      expect([blocked.status, blocked.text]).toEqual([400, 'job scaling blocked due to active deployment']);
      expect((await call('GET', `/v1/job/${j.ID}/deployment`)).json()).toMatchObject({ Status: 'running' });
    });

    it('blocks a read with ?index= until the table changes, then answers a larger X-Nomad-Index', async () => {
      const j = job();
      await call('POST', '/v1/jobs', { Job: j });
      const first = await call('GET', `/v1/job/${j.ID}`);
      const started = Date.now();
      const blocked = call('GET', `/v1/job/${j.ID}?index=${first.index}&wait=20s`);
      await new Promise((r) => setTimeout(r, 300));
      await call('POST', '/v1/jobs', { Job: { ...j, Meta: { changed: 'yes' } } });
      const answer = await blocked;
      expect(answer.index).toBeGreaterThan(first.index);
      expect(answer.json().Meta).toEqual({ changed: 'yes' });
      expect(Date.now() - started).toBeLessThan(15_000);
      const timedOut = await call('GET', `/v1/job/${j.ID}?index=${answer.index}&wait=200ms`);
      expect(timedOut.status).toBe(200);
      expect((await call('GET', `/v1/job/${j.ID}?index=1&wait=soon`)).status).toBe(400);
    });

    it('stops a job (still readable, Stop true) and purges it (then 404)', async () => {
      const j = job();
      await call('POST', '/v1/jobs', { Job: j });
      expect((await call('DELETE', `/v1/job/${j.ID}`)).status).toBe(200);
      expect((await call('GET', `/v1/job/${j.ID}`)).json()).toMatchObject({ Stop: true });
      expect((await call('DELETE', `/v1/job/${j.ID}?purge=true`)).status).toBe(200);
      expect((await call('GET', `/v1/job/${j.ID}`)).status).toBe(404);
    });

    it('checks the parameters of the logs endpoint', async () => {
      const j = job();
      await call('POST', '/v1/jobs', { Job: j });
      const noTask = await call('GET', '/v1/client/fs/logs/00000000-0000-0000-0000-000000000000?type=stdout');
      expect([noTask.status, noTask.text]).toEqual([400, 'must provide task name']);
      const noType = await call('GET', '/v1/client/fs/logs/00000000-0000-0000-0000-000000000000?task=worker');
      expect([noType.status, noType.text]).toEqual([400, 'must provide log type (stdout/stderr)']);
    });

    it('refuses requests without the ACL token when ACLs are on', async () => {
      if (!h.token) return;
      expect((await call('GET', '/v1/jobs', undefined, '')).status).toBe(403);
      expect((await call('GET', '/v1/jobs', undefined, 'not-a-token')).status).toBe(403);
    });
  });
}

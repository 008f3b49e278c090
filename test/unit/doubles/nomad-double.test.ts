import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Evaluation } from '../../../src/clients/nomad/types.js';
import { NomadDouble } from '../../doubles/nomad/nomad-double.js';
import { REPO_ROOT } from '../../helpers/spawn-ts.js';

let nomad: NomadDouble;
afterEach(() => nomad.close());

async function start(options: ConstructorParameters<typeof NomadDouble>[0] = {}) {
  nomad = new NomadDouble({ heartbeatMs: 100, ...options });
  await nomad.start();
}

const get = (p: string) => fetch(nomad.url + p);
const post = (p: string, body: unknown) => fetch(nomad.url + p, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const golden = (name: string) => JSON.parse(readFileSync(path.join(REPO_ROOT, 'jobspecs/examples', `${name}.json`), 'utf8')) as { Job: { ID: string; Namespace: string } };

describe('NomadDouble', () => {
  it('completes an evaluation with FailedTGAllocs and a blocked eval when no node has the GPU', async () => {
    await start();
    const job = golden('b200');
    const registered = (await (await post(`/v1/jobs?namespace=${job.Job.Namespace}`, job)).json()) as { EvalID: string };
    const evaluation = (await (await get(`/v1/evaluation/${registered.EvalID}`)).json()) as Evaluation;
    expect(evaluation).toMatchObject({ Status: 'complete', FailedTGAllocs: { worker: { ConstraintFiltered: { 'missing devices': 1 } } }, BlockedEval: expect.any(String) });
    expect(nomad.allocations(job.Job.ID, job.Job.Namespace)).toEqual([]);
  });

  it('reports exhausted devices when matching GPUs are all in use', async () => {
    await start();
    const job = golden('h100x2-torchrun');
    (job.Job as unknown as { TaskGroups: Array<{ Count: number; Scaling: { Max: number } }> }).TaskGroups[0]!.Count = 5;
    (job.Job as unknown as { TaskGroups: Array<{ Scaling: { Max: number } }> }).TaskGroups[0]!.Scaling.Max = 5;
    const { EvalID } = (await (await post(`/v1/jobs?namespace=${job.Job.Namespace}`, job)).json()) as { EvalID: string };
    const evaluation = (await (await get(`/v1/evaluation/${EvalID}`)).json()) as Evaluation;
    expect(evaluation.FailedTGAllocs!.worker!.DimensionExhausted).toEqual({ 'devices: nvidia/gpu': 1 });
    expect(evaluation.QueuedAllocations).toEqual({ worker: 1 });
    expect(nomad.live(job.Job.ID, job.Job.Namespace)).toHaveLength(4);
  });

  it('moves allocations pending → running → complete under test control, each write raising the index', async () => {
    await start({ autoRun: false });
    const job = golden('cpu');
    await post(`/v1/jobs?namespace=${job.Job.Namespace}`, job);
    const [a] = nomad.allocations(job.Job.ID, job.Job.Namespace);
    expect(a!.ClientStatus).toBe('pending');
    const before = Number((await get(`/v1/allocation/${a!.ID}`)).headers.get('x-nomad-index'));
    const blocked = get(`/v1/allocation/${a!.ID}?index=${before}&wait=10s`);
    nomad.run(a!.ID);
    const after = await blocked;
    expect(Number(after.headers.get('x-nomad-index'))).toBeGreaterThan(before);
    expect(((await after.json()) as { ClientStatus: string }).ClientStatus).toBe('running');
    nomad.complete(a!.ID);
    expect(nomad.live(job.Job.ID, job.Job.Namespace)).toEqual([]);
  });

  it('serves logs as base64 frames, as plain text, from the end, and follows with {} heartbeats', async () => {
    await start();
    const job = golden('cpu');
    await post(`/v1/jobs?namespace=${job.Job.Namespace}`, job);
    await new Promise((r) => setTimeout(r, 50));
    const [a] = nomad.live(job.Job.ID, job.Job.Namespace);
    nomad.log(a!.ID, 'stderr', 'oops\n');
    const framed = await (await get(`/v1/client/fs/logs/${a!.ID}?task=worker&type=stderr`)).json() as { Data: string; File: string };
    expect(Buffer.from(framed.Data, 'base64').toString()).toBe('oops\n');
    expect(framed.File).toBe('alloc/logs/worker.stderr.0');
    expect(await (await get(`/v1/client/fs/logs/${a!.ID}?task=worker&type=stdout&plain=true&origin=end&offset=5`)).text()).toBe('8000\n');
    const abort = new AbortController();
    const res = await fetch(`${nomad.url}/v1/client/fs/logs/${a!.ID}?task=worker&type=stdout&follow=true&offset=100`, { signal: abort.signal });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('{}');
    abort.abort();
  });

  it('answers 404 for logs of a task that has not started, and for an unknown allocation', async () => {
    await start({ autoRun: false });
    const job = golden('cpu');
    await post(`/v1/jobs?namespace=${job.Job.Namespace}`, job);
    const [a] = nomad.allocations(job.Job.ID, job.Job.Namespace);
    const early = await get(`/v1/client/fs/logs/${a!.ID}?task=worker&type=stdout`);
    expect([early.status, await early.text()]).toEqual([404, 'task "worker" not started yet. No logs available']);
    expect((await get('/v1/client/fs/logs/nope?task=worker&type=stdout')).status).toBe(404);
    expect((await get(`/v1/client/fs/logs/${a!.ID}?task=other&type=stdout`)).status).toBe(400);
  });

  it('refuses a job that uses Vault when the servers have no Vault', async () => {
    await start({ vaultEnabled: false });
    const res = await post('/v1/jobs', golden('cpu'));
    expect([res.status, await res.text()]).toEqual([500, 'Vault "default" not enabled but used in the job']);
  });
});

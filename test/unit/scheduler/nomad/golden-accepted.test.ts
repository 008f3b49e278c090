import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NomadDouble } from '../../../doubles/nomad/nomad-double.js';
import { REPO_ROOT } from '../../../helpers/spawn-ts.js';

const dir = path.join(REPO_ROOT, 'jobspecs/examples');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('jobspecs/examples', () => {
  const nomad = new NomadDouble({ autoRun: false });
  beforeAll(() => nomad.start());
  afterAll(() => nomad.close());

  it('holds the seven golden configurations', () => {
    expect(files).toHaveLength(7);
  });

  it.each(files)('%s passes the double’s validation of required fields and types', async (file) => {
    const body = readFileSync(path.join(dir, file), 'utf8');
    const ns = (JSON.parse(body) as { Job: { Namespace: string } }).Job.Namespace;
    const res = await fetch(`${nomad.url}/v1/jobs?namespace=${ns}`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it('is refused when a duration is a string, as Nomad refuses it', async () => {
    const job = JSON.parse(readFileSync(path.join(dir, 'h100.json'), 'utf8')) as { Job: { TaskGroups: Array<{ Tasks: Array<Record<string, unknown>> }> } };
    job.Job.TaskGroups[0]!.Tasks[0]!.KillTimeout = '300s';
    const res = await fetch(`${nomad.url}/v1/jobs`, { method: 'POST', body: JSON.stringify(job), headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('KillTimeout');
  });
});

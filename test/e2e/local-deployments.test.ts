import { mkdtempSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/spawn-ts.js';
import { callApi, startServerProcess, until, type ServerProcess } from '../helpers/server-process.js';

const EXAMPLE = path.join(REPO_ROOT, 'examples/hello-http');

interface Deployment {
  id: string;
  status: string;
  ready_replicas: number;
  desired_replicas: number;
  environment_variables: Array<{ name: string; value?: string }>;
  replica_events: Record<string, { replica_status: string; replica_status_reason?: string; replica_status_message?: string; revision_id: string }>;
}

/** Processes whose working directory is `dir` (the replicas of a local project). */
function processesIn(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/cwd`) === dir;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('deployments on the embedded default, end to end', () => {
  let server: ServerProcess;
  let key: string;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-e2e-deploy-'));

  beforeAll(async () => {
    server = await startServerProcess(dataDir);
    key = server.printedAdminKey!;
  });
  afterAll(async () => {
    await server.stop();
  });

  const api = <T = Deployment>(method: string, url: string, body?: unknown) => callApi<T>(server, key, method, url, body);

  async function untilDeployment(what: string, check: (d: Deployment) => boolean, name = 'hello-http', ms = 60_000): Promise<Deployment> {
    let last: Deployment | undefined;
    const probe = async () => {
      last = (await api('GET', `/v1/deployments/${name}`)).json;
      return check(last) ? last : undefined;
    };
    return until(what, probe, ms, 250, () => `; last: ${JSON.stringify(last)}`);
  }

  const revisionOf = (d: Deployment) => d.environment_variables.find((v) => v.name === 'TOGETHER_DEPLOYMENT_REVISION_ID')!.value!;
  const hello = async (name: string) => (await api<{ message: string }>('GET', `/v1/deployment-request/hello-http/hello?name=${name}`)).json;

  it('runs the example project: Ready, direct HTTP, logs, scale, new revision, volume, destroy', async () => {
    const created = await api('POST', '/v1/deployments', {
      name: 'hello-http',
      image: 'local/hello-http',
      gpu_type: 'none',
      x_gantry_source: { path: EXAMPLE },
      environment_variables: [{ name: 'GREETING', value: 'Hello' }],
    });
    expect(created.status).toBe(200);
    await untilDeployment('Ready', (d) => d.status === 'Ready' && d.ready_replicas === 1);
    expect(await hello('Gantry')).toMatchObject({ message: 'Hello, Gantry!' });

    const logs = await api<{ lines: string[] }>('GET', '/v1/deployments/hello-http/logs');
    expect(logs.json.lines.join('\n')).toContain('GET /hello?name=Gantry');

    await api('PATCH', '/v1/deployments/hello-http', { min_replicas: 3, max_replicas: 3 });
    await untilDeployment('3 ready replicas', (d) => d.status === 'Ready' && d.ready_replicas === 3);
    const replicas = new Set<string>();
    for (let i = 0; i < 6; i++) replicas.add(((await hello('x')) as unknown as { replica: string }).replica);
    expect(replicas.size).toBe(3);
    await api('PATCH', '/v1/deployments/hello-http', { min_replicas: 1, max_replicas: 1 });
    await untilDeployment('back to 1', (d) => d.status === 'Ready' && Object.keys(d.replica_events).length === 1);

    const before = revisionOf((await api('GET', '/v1/deployments/hello-http')).json);
    await api('PATCH', '/v1/deployments/hello-http', { environment_variables: [{ name: 'GREETING', value: 'Howdy' }] });
    const rolled = await untilDeployment('new revision Ready', (d) => revisionOf(d) !== before && d.status === 'Ready');
    expect(Object.values(rolled.replica_events).every((e) => e.revision_id === revisionOf(rolled))).toBe(true);
    expect(await hello('Gantry')).toMatchObject({ message: 'Howdy, Gantry!' });

    await uploadVolume('pantry', { 'curry.txt': 'cumin, coriander' });
    await api('PATCH', '/v1/deployments/hello-http', { volumes: [{ name: 'pantry', mount_path: '/data' }] });
    await untilDeployment('Ready with the volume', (d) => d.status === 'Ready' && Object.values(d.replica_events).every((e) => e.revision_id === revisionOf(d)) && revisionOf(d) !== revisionOf(rolled));
    const file = await server.fetch(`${server.url}/v1/deployment-request/hello-http/files/curry.txt`, { headers: { authorization: `Bearer ${key}` } });
    expect(await file.text()).toBe('cumin, coriander');

    expect(processesIn(EXAMPLE).length).toBeGreaterThan(0);
    expect((await api('DELETE', '/v1/deployments/hello-http')).status).toBe(200);
    await waitFor(() => processesIn(EXAMPLE).length === 0, 'every replica process gone');
  });

  it('reports a replica that exits at once as CrashLoopBackOff, with its last log lines', async () => {
    await api('POST', '/v1/deployments', {
      name: 'crasher',
      image: 'local/crasher',
      gpu_type: 'none',
      health_check_path: '',
      x_gantry_source: { path: EXAMPLE, cmd: 'python3 -c "print(\'about to fail\'); raise SystemExit(3)"' },
    });
    const d = await untilDeployment('CrashLoopBackOff', (x) => Object.values(x.replica_events).some((e) => e.replica_status_reason === 'CrashLoopBackOff'), 'crasher', 60_000);
    const event = Object.values(d.replica_events)[0]!;
    expect(event.replica_status_message).toContain('about to fail');
    expect(d.status).toBe('Failed');
    await api('DELETE', '/v1/deployments/crasher');
  });

  it('says plainly that the embedded default cannot run a bare image', async () => {
    const res = await api<{ error: { code: string; message: string } }>('POST', '/v1/deployments', {
      name: 'just-an-image',
      image: 'vllm/vllm-openai:v0.17.1',
      gpu_type: 'none',
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('GANTRY_ERR_DEPLOYMENT_UNSUPPORTED');
    expect(res.json.error.message).toMatch(/image/);
  });

  it('re-adopts running replicas after the server is killed with -9, never duplicating them', async () => {
    const port = Number(new URL(server.url).port);
    await api('POST', '/v1/deployments', { name: 'survivor', image: 'local/survivor', gpu_type: 'none', x_gantry_source: { path: EXAMPLE } });
    await untilDeployment('Ready', (d) => d.status === 'Ready', 'survivor');
    const pids = processesIn(EXAMPLE).sort();
    expect(pids.length).toBeGreaterThan(0);

    expect(await server.kill()).toBe('SIGKILL');
    expect(processesIn(EXAMPLE).sort()).toEqual(pids);
    server = await startServerProcess(dataDir, {}, port);
    const after = await untilDeployment('Ready after the restart', (d) => d.status === 'Ready', 'survivor');
    expect(Object.keys(after.replica_events)).toHaveLength(1);
    expect(processesIn(EXAMPLE).sort()).toEqual(pids);
    const res = await server.fetch(`${server.url}/v1/deployment-request/survivor/hello?name=again`, { headers: { authorization: `Bearer ${key}` } });
    expect(await res.json()).toMatchObject({ message: 'Hello, again!' });
    await api('DELETE', '/v1/deployments/survivor');
    await waitFor(() => processesIn(EXAMPLE).length === 0, 'every replica process gone');
  });

  async function uploadVolume(name: string, files: Record<string, string>): Promise<void> {
    await api('POST', '/v1/deployments/storage/volumes', { name, type: 'readOnly', content: { type: 'files', source_prefix: `${name}/0` } });
    for (const [file, content] of Object.entries(files)) {
      const { json } = await api<{ upload_url: { url: string } }>('POST', '/v1/storage/upload-request', { filename: `${name}/0/${file}` });
      const put = await server.fetch(json.upload_url.url, { method: 'PUT', body: content });
      expect(put.status).toBe(200);
    }
  }
});

async function waitFor(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

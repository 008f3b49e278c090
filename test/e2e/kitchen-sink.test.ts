import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployExample, finishedJob, type ExampleDeployment } from '../helpers/deploy-example.js';
import { callApi, startServerProcess, until, type ServerProcess } from '../helpers/server-process.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

const EXAMPLE = path.join(REPO_ROOT, 'examples/kitchen-sink');
const NAME = 'kitchen-sink';
const TOKEN = 'kitchen-token-4f9a1c';

interface JigDeploy {
  description: string;
  gpu_type: string;
  gpu_count: number;
  cpu: number;
  memory: number;
  storage: number;
  port: number;
  min_replicas: number;
  max_replicas: number;
  termination_grace_period_seconds: number;
  environment_variables: Record<string, string>;
  volume_mounts: { name: string; mount_path: string; version?: number }[];
  autoscaling: Record<string, unknown>;
}

/** The body `jig deploy` sends for the example's `[tool.jig.deploy]` (compat-source.md B.8), plus `x_gantry_source`. */
function deployBody(): ExampleDeployment {
  const deploy = (parse(readFileSync(path.join(EXAMPLE, 'pyproject.toml'), 'utf8')) as unknown as { tool: { jig: { deploy: JigDeploy } } }).tool.jig.deploy;
  const { environment_variables: env, volume_mounts: mounts, autoscaling, ...rest } = deploy;
  return {
    name: NAME,
    image: `local/${NAME}`,
    ...rest,
    autoscaling: { ...autoscaling, model: NAME },
    volumes: mounts.map((m) => ({ name: m.name, mount_path: m.mount_path, version: m.version ?? 0 })),
    environment_variables: [
      ...Object.entries(env).map(([name, value]) => ({ name, value })),
      { name: 'KITCHEN_TOKEN', value_from_secret: `${NAME}-KITCHEN_TOKEN` },
    ],
    x_gantry_source: { path: EXAMPLE },
  };
}

/**
 * examples/kitchen-sink on the embedded default: its volume and secret created through the API, deployed
 * from its pyproject.toml as Jig would, and one slow job that reads the volume, uses the secret, reports
 * progress while it runs and returns a FileOutput downloadable with an API key.
 */
describe('the kitchen-sink example on the embedded default', () => {
  let server: ServerProcess;
  let key: string;
  let dataDir: string;
  const call = <T = Record<string, unknown>>(method: string, url: string, body?: unknown) => callApi<T>(server, key, method, url, body);

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-e2e-kitchen-'));
    server = await startServerProcess(dataDir);
    key = server.printedAdminKey!;
  });
  afterAll(async () => {
    await call('DELETE', `/v1/deployments/${NAME}`);
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function createVolume(): Promise<void> {
    const volume = `${NAME}-data`;
    expect((await call('POST', '/v1/deployments/storage/volumes', { name: volume, type: 'readOnly', content: { type: 'files', source_prefix: `${volume}/0` } })).status).toBe(200);
    const { json } = await call<{ upload_url: { url: string } }>('POST', '/v1/storage/upload-request', { filename: `${volume}/0/recipe.txt` });
    const put = await server.fetch(json.upload_url.url, { method: 'PUT', body: readFileSync(path.join(EXAMPLE, 'data/recipe.txt')) });
    expect(put.status).toBe(200);
  }

  it('deploys with a volume, a secret and env vars, and processes a slow job with progress and a FileOutput', async () => {
    await createVolume();
    expect((await call('POST', '/v1/deployments/secrets', { name: `${NAME}-KITCHEN_TOKEN`, value: TOKEN, description: 'kitchen-sink test token' })).status).toBe(200);
    await deployExample(server, key, deployBody());

    const submitted = await call('POST', '/v1/queue/submit', { model: NAME, payload: { file: 'recipe.txt', steps: 4, slow: 6 } });
    const id = String(submitted.json.request_id);
    const status = async () => (await call<{ status: string; info: Record<string, unknown>; outputs: Record<string, unknown> }>('GET', `/v1/queue/status?model=${NAME}&request_id=${id}`)).json;
    const progressing = await until('progress while running', async () => {
      const s = await status();
      return s.status === 'running' && typeof s.info.progress === 'number' ? s : undefined;
    }, 60_000, 200);
    expect(progressing.info).toMatchObject({ of: 4 });
    const done = await finishedJob(server, key, NAME, id, 60_000, 300);

    expect(done.status, JSON.stringify(done)).toBe('done');
    expect(done.info).toMatchObject({ progress: 1, step: 4, of: 4 });
    expect(done.outputs).toMatchObject({
      file: 'recipe.txt',
      lines: 4,
      mode: 'demo',
      token_sha256: createHash('sha256').update(TOKEN).digest('hex').slice(0, 16),
    });
    expect(JSON.stringify(done.outputs)).not.toContain(TOKEN);
    const reportUrl = String(done.outputs.report);
    expect(reportUrl).toBe(`${server.url}/v1/storage/${id}-report-recipe.txt`);
    expect((await server.fetch(reportUrl)).status).toBe(401);
    const report = await server.fetch(reportUrl, { headers: { authorization: `Bearer ${key}` } });
    expect(await report.text()).toBe('mode=demo\n1. TWO CUPS OF FLOUR\n2. ONE CUP OF WATER\n3. A PINCH OF SALT\n4. KNEAD FOR TEN MINUTES\n');
  }, 400_000);
});

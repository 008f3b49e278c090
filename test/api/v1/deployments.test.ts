import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnsupportedSpecError } from '../../../src/scheduler/scheduler.js';
import { MemoryScheduler } from '../../doubles/memory-scheduler.js';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

const hello = { name: 'hello', image: 'registry.local/hello:latest', gpu_type: 'none', cpu: 1, memory: 2 };

describe('Deployments API', () => {
  let server: TestServer;
  let scheduler: MemoryScheduler;

  beforeEach(async () => {
    scheduler = new MemoryScheduler();
    server = await createTestServer({ scheduler });
  });
  afterEach(async () => server.close());

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    server.app.inject({ method, url, headers: server.auth, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const create = (body: Record<string, unknown> = {}) => call('POST', '/v1/deployments', { ...hello, ...body });

  it('creates a deployment, applies it and reports it Ready with its replica events', async () => {
    const res = await create();
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      object: 'deployment',
      name: 'hello',
      status: 'Ready',
      desired_replicas: 1,
      ready_replicas: 1,
      min_replicas: 1,
      max_replicas: 1,
      port: 8000,
      health_check_path: '/health',
      termination_grace_period_seconds: 300,
    });
    expect(body.id).toMatch(/^dep_/);
    expect(body).not.toHaveProperty('autoscaling');
    const revision = body.environment_variables.find((v: { name: string }) => v.name === 'TOGETHER_DEPLOYMENT_REVISION_ID');
    expect(revision.value).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.values(body.replica_events)).toEqual([
      expect.objectContaining({ replica_status: 'Running', revision_id: revision.value, image: hello.image }),
    ]);
  });

  it('hands the scheduler the injected environment (compat.md §8.14) and resolved secrets', async () => {
    await call('POST', '/v1/deployments/secrets', { name: 'hello-HF_TOKEN', value: 'hf_secret' });
    await call('POST', '/v1/deployments/secrets', { name: 'hello-TOGETHER_API_KEY', value: 'user-key' });
    const env = [
      { name: 'MODE', value: 'fast' },
      { name: 'HF_TOKEN', value_from_secret: 'hello-HF_TOKEN' },
      { name: 'TOGETHER_API_KEY', value_from_secret: 'hello-TOGETHER_API_KEY' },
      { name: 'TOGETHER_API_BASE_URL', value: 'https://elsewhere' },
    ];
    const body = (await create({ gpu_type: 'h100-80gb', gpu_count: 2, environment_variables: env })).json();
    const spec = scheduler.applyCalls.at(-1)!;
    expect(spec.env).toMatchObject({
      MODE: 'fast',
      TOGETHER_DEPLOYMENT_NAME: 'hello',
      TOGETHER_DEPLOYMENT_REVISION_ID: spec.revisionId,
      TOGETHER_API_BASE_URL: 'https://gantry.test',
      TERMINATION_GRACE_PERIOD_SECONDS: '300',
      WORLD_SIZE: '2',
    });
    expect(spec.secretEnv).toEqual({ HF_TOKEN: 'hf_secret' });
    expect(spec.env).not.toHaveProperty('TOGETHER_API_KEY');
    expect(body.warnings).toHaveLength(2);
    expect(body.environment_variables.slice(0, 4)).toEqual(env);
    expect(JSON.stringify(body)).not.toContain('hf_secret');
  });

  it('finds a deployment by id and by name, and lists it', async () => {
    const { id } = (await create()).json();
    expect((await call('GET', `/v1/deployments/${id}`)).json().name).toBe('hello');
    expect((await call('GET', '/v1/deployments/hello')).json().id).toBe(id);
    const list = (await call('GET', '/v1/deployments')).json();
    expect(list).toMatchObject({ object: 'list', data: [expect.objectContaining({ id })] });
  });

  it('refuses a taken name with "already exists", and a name deriving the same job id', async () => {
    await create({ name: 'My_Model' });
    const again = await create({ name: 'My_Model' });
    expect(again.statusCode).toBe(400);
    expect(again.json().error).toMatchObject({ code: 'GANTRY_ERR_DEPLOYMENT_EXISTS', param: 'name' });
    expect(again.json().error.message).toContain('already exists');
    const derived = await create({ name: 'my-model' });
    expect(derived.json().error.code).toBe('GANTRY_ERR_DEPLOYMENT_EXISTS');
    expect(derived.json().error.message).toContain('gantry-my-model');
  });

  it('answers a PATCH of an unknown deployment with 404 (the CLI then creates)', async () => {
    const res = await call('PATCH', '/v1/deployments/nope', { image: 'x' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('GANTRY_ERR_DEPLOYMENT_NOT_FOUND');
  });

  it('keeps the revision when only the count changes, and makes a new one when the spec changes', async () => {
    const first = (await create()).json();
    const scaled = (await call('PATCH', '/v1/deployments/hello', { min_replicas: 3, max_replicas: 3 })).json();
    expect(scaled.desired_replicas).toBe(3);
    expect(revisionOf(scaled)).toBe(revisionOf(first));
    expect(scheduler.applied(first.id)!.count).toBe(3);
    const rolled = (await call('PATCH', '/v1/deployments/hello', { image: 'registry.local/hello:v2' })).json();
    expect(revisionOf(rolled)).not.toBe(revisionOf(first));
    expect(scheduler.applied(first.id)!.spec.image).toBe('registry.local/hello:v2');
  });

  it('rolls a new revision when a secret the deployment uses changed', async () => {
    await call('POST', '/v1/deployments/secrets', { name: 'tok', value: 'v1' });
    const first = (await create({ environment_variables: [{ name: 'TOK', value_from_secret: 'tok' }] })).json();
    const same = (await call('PATCH', '/v1/deployments/hello', {})).json();
    expect(revisionOf(same)).toBe(revisionOf(first));
    await call('PATCH', '/v1/deployments/secrets/tok', { value: 'v2' });
    const rolled = (await call('PATCH', '/v1/deployments/hello', {})).json();
    expect(revisionOf(rolled)).not.toBe(revisionOf(first));
    expect(scheduler.applyCalls.at(-1)!.secretEnv).toEqual({ TOK: 'v2' });
  });

  it('renames, keeping the old name usable', async () => {
    const { id } = (await create()).json();
    const renamed = (await call('PATCH', '/v1/deployments/hello', { name: 'hello-2' })).json();
    expect(renamed.name).toBe('hello-2');
    expect((await call('GET', '/v1/deployments/hello')).json().id).toBe(id);
    expect((await call('GET', '/v1/deployments/hello-2')).json().id).toBe(id);
    expect(scheduler.applyCalls.at(-1)!.env.TOGETHER_DEPLOYMENT_NAME).toBe('hello-2');
  });

  it('destroys a deployment: replicas stopped, record gone, name free again', async () => {
    const { id } = (await create()).json();
    const res = await call('DELETE', '/v1/deployments/hello');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({});
    expect(scheduler.stopCalls).toEqual([id]);
    expect((await call('GET', '/v1/deployments/hello')).statusCode).toBe(404);
    expect((await create()).statusCode).toBe(200);
  });

  it('refuses a spec the scheduler cannot run, and keeps nothing', async () => {
    scheduler.failNext(new UnsupportedSpecError('the embedded default runs local project directories, not container images'));
    const res = await create();
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('GANTRY_ERR_DEPLOYMENT_UNSUPPORTED');
    expect(res.json().error.message).toContain('container images');
    expect((await call('GET', '/v1/deployments')).json().data).toEqual([]);
  });

  it('reports a crash-looping replica as Failed with its reason and message', async () => {
    const { id } = (await create()).json();
    const [replica] = await scheduler.replicas(id);
    scheduler.setReplica(replica!.replicaId, { state: 'Waiting', reason: 'CrashLoopBackOff', message: 'boom', readySince: undefined });
    const body = (await call('GET', '/v1/deployments/hello')).json();
    expect(body.status).toBe('Failed');
    expect(body.replica_events[replica!.replicaId]).toMatchObject({ replica_status_reason: 'CrashLoopBackOff', replica_status_message: 'boom' });
  });

  it('serves logs as one {"lines": [...]} object, prefixed by replica when several run', async () => {
    const { id } = (await create({ min_replicas: 2 })).json();
    const [a] = await scheduler.replicas(id);
    scheduler.pushLogs(a!.replicaId, ['hello from a']);
    const body = (await call('GET', '/v1/deployments/hello/logs')).json();
    expect(body.lines).toContain(`[${a!.replicaId}] hello from a`);
    const one = (await call('GET', `/v1/deployments/hello/logs?replica_id=${a!.replicaId}`)).json();
    expect(one.lines).toContain('hello from a');
    expect((await call('GET', '/v1/deployments/nope/logs')).statusCode).toBe(404);
  });

  it('pins volume versions, keeps them on update, and survives a volume rename', async () => {
    await call('POST', '/v1/deployments/storage/volumes', { name: 'data', type: 'readOnly', content: { type: 'files', source_prefix: 'data/0' } });
    const created = (await create({ volumes: [{ name: 'data', mount_path: '/data' }] })).json();
    expect(created.volumes[0]).toMatchObject({ name: 'data', mount_path: '/data', version: 0 });
    await call('PATCH', '/v1/deployments/storage/volumes/data', { content: { type: 'files', source_prefix: 'data/1' } });
    await call('PATCH', '/v1/deployments/storage/volumes/data', { name: 'data2' });
    const kept = await call('PATCH', '/v1/deployments/hello', { cpu: 2 });
    expect(kept.statusCode).toBe(200);
    expect(kept.json().volumes[0]).toMatchObject({ version: 0 });
    const resent = (await call('PATCH', '/v1/deployments/hello', { volumes: [{ name: 'data2', mount_path: '/data' }] })).json();
    expect(resent.volumes[0]).toMatchObject({ name: 'data2', version: 0 });
    const bumped = (await call('PATCH', '/v1/deployments/hello', { volumes: [{ name: 'data2', mount_path: '/data', version: 1 }] })).json();
    expect(bumped.volumes[0].version).toBe(1);
    expect(scheduler.applyCalls.at(-1)!.volumes[0]).toMatchObject({ mountPath: '/data', version: 1 });
  });

  it.each([
    ['an unknown gpu_type', { gpu_type: 'a100-80gb' }, 'gpu_type', /h100-80gb/],
    ['a GPU count with gpu_type none', { gpu_count: 1 }, 'gpu_count', /none/],
    ['a name outside the rule', { name: 'bad name!' }, 'name', /letters, digits/],
    ['a reserved name', { name: 'secrets' }, 'name', /reserved/],
    ['negative replicas', { min_replicas: -1 }, 'min_replicas', /negative/],
    ['min above max', { min_replicas: 3, max_replicas: 2 }, 'max_replicas', /min_replicas/],
    ['memory over the limit', { memory: 2000 }, 'memory', /1000/],
    ['a port out of range', { port: 70000 }, 'port', /65535/],
    ['a missing image', { image: undefined }, 'image', /.+/],
    ['a volume that does not exist', { volumes: [{ name: 'ghost', mount_path: '/data' }] }, 'volumes.0.name', /ghost/],
    ['a relative mount path', { volumes: [{ name: 'v', mount_path: 'data' }] }, 'volumes.0.mount_path', /absolute/],
    ['a secret that does not exist', { environment_variables: [{ name: 'X', value_from_secret: 'ghost' }] }, 'environment_variables.0.value_from_secret', /ghost/],
    ['an env var with both value kinds', { environment_variables: [{ name: 'X', value: '1', value_from_secret: 's' }] }, 'environment_variables.0', /exactly one/],
    ['a bad env var name', { environment_variables: [{ name: '1X', value: '1' }] }, 'environment_variables.0.name', /A-Za-z_/],
    ['an unknown autoscaling metric', { autoscaling: { metric: 'Bogus' } }, 'autoscaling.metric', /.+/],
  ])('refuses %s with a 400 naming the field', async (_name, body, param, message) => {
    const res = await create(body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.param).toBe(param);
    expect(res.json().error.message).toMatch(message);
  });

  it('refuses env/secret collisions, naming every one (compat.md §8.17)', async () => {
    await call('POST', '/v1/deployments/secrets', { name: 's', value: 'v' });
    const env = [
      { name: 'A', value: '1' },
      { name: 'A', value_from_secret: 's' },
      { name: 'B', value: '1' },
      { name: 'B', value_from_secret: 's' },
    ];
    const res = await create({ environment_variables: env });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/A, B/);
  });
});

function revisionOf(deployment: { environment_variables: Array<{ name: string; value?: string }> }): string | undefined {
  return deployment.environment_variables.find((v) => v.name === 'TOGETHER_DEPLOYMENT_REVISION_ID')?.value;
}

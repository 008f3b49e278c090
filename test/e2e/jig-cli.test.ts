import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, until, type ServerProcess } from '../helpers/server-process.js';
import { runJig, startJig, type JigRun } from '../helpers/run-jig.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

/**
 * `jig` end to end against a real embedded server (issue 6): examples/hello-world deploys with `jig deploy`
 * (the project directory, no image), then the everyday commands work. The server's local CA is found
 * through GANTRY_DATA_DIR; nothing else about TLS is configured.
 */
describe('jig against the embedded default', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  let project: string;
  let requestId: string;

  beforeAll(async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'gantry-e2e-jig-'));
    const dataDir = path.join(root, 'data');
    server = await startServerProcess(dataDir);
    project = path.join(root, 'hello-world');
    cpSync(path.join(REPO_ROOT, 'examples/hello-world'), project, { recursive: true });
    env = { TOGETHER_API_KEY: server.printedAdminKey!, TOGETHER_BASE_URL: `${server.url}/v1`, GANTRY_DATA_DIR: dataDir };
  });
  afterAll(async () => {
    await server.stop();
  });

  const jig = (...args: string[]): Promise<JigRun> => runJig(args, { cwd: project, env, timeoutMs: 280_000 });
  const ok = (run: JigRun): string => {
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    return run.stdout;
  };

  it('deploys the project directory and tracks it until a replica is ready', async () => {
    const out = ok(await jig('deploy'));
    expect(out).toContain('build and push skipped');
    expect(out).toContain('\u2713 Deployed: hello-world');
    expect(out).toContain('\u{1F680} Deployment successful!');
  }, 300_000);

  it('submits a job and watches it to done', async () => {
    const out = ok(await jig('submit', '--payload', '{"name": "Together"}', '--watch'));
    expect(out).toContain('\u2713 Submitted job');
    expect(out).toContain('"message": "Hello, Together!"');
    requestId = /Watching job (\S+)\.\.\./.exec(out)![1]!;
  }, 90_000);

  it('shows job-status, queue-status, status, list and logs', async () => {
    expect(JSON.parse(ok(await jig('job-status', '--request-id', requestId)))).toMatchObject({ status: 'done', request_id: requestId });
    expect(JSON.parse(ok(await jig('queue-status')))).toMatchObject({ messages_waiting: 0, messages_running: 0 });
    const status = ok(await jig('status'));
    expect(status).toMatch(/Name {4}: hello-world \u2503 ID: \S+/);
    expect(status).toContain('Status  : Ready');
    expect(status).toContain('Secrets: TOGETHER_API_KEY');
    expect(JSON.parse(ok(await jig('status', '--json')))).toMatchObject({ name: 'hello-world', status: 'Ready' });
    expect(JSON.parse(ok(await jig('ls'))).data.map((d: { name: string }) => d.name)).toContain('hello-world');
    expect(ok(await jig('logs')).trim().length).toBeGreaterThan(0);
    expect(ok(await jig('endpoint')).trim()).toBe(`${server.url}/v1/deployment-request/hello-world`);
  }, 90_000);

  it('follows the logs until Ctrl-C', async () => {
    const follow = startJig(['logs', '--follow'], { cwd: project, env });
    await until('followed log lines', async () => (follow.output().trim() ? true : undefined), 30_000, 100);
    follow.child.kill('SIGINT');
    const run = await follow.result;
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('\nStopped following logs');
  }, 60_000);

  it('sets, lists, unsets and deletes a secret', async () => {
    expect(ok(await jig('secrets', 'set', '--name', 'HF_TOKEN', '--value', 'hf_e2e_value'))).toContain('\u2713 Created secret HF_TOKEN');
    expect(ok(await jig('secrets', 'set', '--name', 'HF_TOKEN', '--value', 'hf_e2e_value2'))).toContain('\u2713 Updated secret HF_TOKEN');
    const listed = ok(await jig('secrets', 'list'));
    expect(listed).toContain('\u2139 Secrets for deployment hello-world:');
    expect(listed).toContain('  - HF_TOKEN [synced]');
    expect(listed).not.toContain('hf_e2e_value');
    expect(ok(await jig('secrets', 'unset', '--name', 'HF_TOKEN'))).toContain('\u2713 Removed secret HF_TOKEN from the deployment');
    expect(ok(await jig('secrets', 'list'))).toContain('  - HF_TOKEN [remote only]');
    expect(ok(await jig('secrets', 'delete', '--name', 'HF_TOKEN'))).toContain('\u2713 Deleted secret HF_TOKEN');
    expect(ok(await jig('secrets', 'delete', '--name', 'HF_TOKEN'))).toContain('\u2717 Secret HF_TOKEN not found');
  }, 90_000);

  it('creates, describes, lists, updates and deletes a volume', async () => {
    const pantry = path.join(project, 'pantry');
    mkdirSync(path.join(pantry, 'nested'), { recursive: true });
    writeFileSync(path.join(pantry, 'curry.txt'), 'curry\n');
    writeFileSync(path.join(pantry, 'nested', 'soup.txt'), 'soup\n');
    const created = ok(await jig('volumes', 'create', '--name', 'e2e-pantry', '--source', 'pantry'));
    expect(created).toContain('\u{1F680} Creating volume e2e-pantry with source prefix e2e-pantry/0');
    expect(created).toMatch(/\u2713 Upload completed in \d+\.\d seconds/);
    const described = JSON.parse(ok(await jig('volumes', 'describe', '--name', 'e2e-pantry')));
    expect(described.content.files.map((f: { name: string }) => f.name).sort()).toEqual(['curry.txt', 'nested/soup.txt']);
    expect(ok(await jig('volumes', 'list'))).toContain('e2e-pantry');
    expect(ok(await jig('volumes', 'update', '--name', 'e2e-pantry', '--source', 'pantry'))).toContain('\u2713 Volume updated successfully');
    expect(JSON.parse(ok(await jig('volumes', 'get', '--name', 'e2e-pantry'))).current_version).toBe(1);
    expect(ok(await jig('volumes', 'delete', '--name', 'e2e-pantry'))).toContain('\u2713 Deleted volume e2e-pantry');
    const gone = await jig('volumes', 'describe', '--name', 'e2e-pantry');
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toBe('Jig: Failed Volume e2e-pantry not found');
  }, 90_000);

  it('destroys the deployment', async () => {
    expect(ok(await jig('destroy'))).toContain('\u{1F5D1} Destroyed hello-world');
    expect((await jig('status')).stderr).toMatch(/^Jig: Failed /);
  }, 60_000);

  it('deploys examples/hello-http too, reachable through the direct route', async () => {
    const dir = path.join(path.dirname(project), 'hello-http');
    cpSync(path.join(REPO_ROOT, 'examples/hello-http'), dir, { recursive: true });
    const http = (...args: string[]): Promise<JigRun> => runJig(args, { cwd: dir, env, timeoutMs: 280_000 });
    expect(ok(await http('deploy'))).toContain('\u{1F680} Deployment successful!');
    const res = await server.fetch(`${server.url}/v1/deployment-request/hello-http/hello?name=Gantry`, {
      headers: { authorization: `Bearer ${env.TOGETHER_API_KEY}` },
    });
    expect(await res.json()).toMatchObject({ message: 'Hello, Gantry!' });
    expect(ok(await http('status'))).toContain('GREETING');
    expect(ok(await http('destroy'))).toContain('Destroyed hello-http');
  }, 300_000);
});

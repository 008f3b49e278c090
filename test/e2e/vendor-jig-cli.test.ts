import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { runJig } from '../helpers/run-jig.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

/**
 * The vendor's own CLI (PyPI `together[cli]`, `tg beta jig ...`) pointed at Gantry with TOGETHER_BASE_URL
 * (issue 6). Its virtualenv is filled from PyPI once and reused; without PyPI (or python3 -m venv) the
 * tests are skipped, saying why. Two settings the vendor CLI needs against the embedded default:
 * - SSL_CERT_FILE: the server's local CA (httpx reads it);
 * - GANTRY_REGISTRY on the server: `tg beta jig status` asks for the registry base path to shorten
 *   image names, and the embedded default has no registry unless one is named.
 */
const TOGETHER = 'together[cli]==3.1.1';
const VENV = path.join(tmpdir(), 'gantry-vendor-together-cli');

function ensureVenv(): string | undefined {
  const tg = path.join(VENV, 'bin', 'tg');
  const stamp = path.join(VENV, '.installed');
  if (existsSync(tg) && existsSync(stamp) && readFileSync(stamp, 'utf8') === TOGETHER) return undefined;
  const venv = spawnSync('python3', ['-m', 'venv', VENV], { encoding: 'utf8' });
  if (venv.status !== 0) return `python3 -m venv failed: ${(venv.stderr || venv.error?.message || '').trim().split('\n').pop()}`;
  const pip = spawnSync(path.join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '--timeout', '30', '--retries', '2', TOGETHER], { encoding: 'utf8', timeout: 600_000 });
  if (pip.status !== 0) return `PyPI is unreachable or ${TOGETHER} did not install: ${(pip.stderr || '').trim().split('\n').pop()}`;
  writeFileSync(stamp, TOGETHER);
  return undefined;
}

interface TgRun {
  code: number;
  out: string;
}

describe('the vendor CLI (tg beta jig) against the embedded default', () => {
  let skipReason: string | undefined;
  let server: ServerProcess;
  let project: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    skipReason = ensureVenv();
    if (skipReason) return console.warn(`skipping the vendor CLI tests: ${skipReason}`);
    const root = mkdtempSync(path.join(tmpdir(), 'gantry-e2e-tg-'));
    server = await startServerProcess(path.join(root, 'data'), { GANTRY_REGISTRY: 'registry.example.com/team' });
    project = path.join(root, 'hello-world');
    cpSync(path.join(REPO_ROOT, 'examples/hello-world'), project, { recursive: true });
    const key = server.printedAdminKey!;
    const deployed = await runJig(['deploy'], { cwd: project, env: { TOGETHER_API_KEY: key, TOGETHER_BASE_URL: server.url, GANTRY_DATA_DIR: path.join(root, 'data') }, timeoutMs: 280_000 });
    if (deployed.code !== 0) throw new Error(`jig deploy failed:\n${deployed.stdout}\n${deployed.stderr}`);
    mkdirSync(path.join(root, 'home'));
    env = {
      PATH: process.env.PATH ?? '',
      HOME: path.join(root, 'home'),
      TOGETHER_API_KEY: key,
      TOGETHER_BASE_URL: server.url,
      TOGETHER_TELEMETRY_DISABLED: '1',
      SSL_CERT_FILE: server.caFile!,
      NO_COLOR: '1',
      COLUMNS: '200',
    };
  }, 900_000);
  afterAll(async () => {
    await server?.stop();
  });

  const tg = (...args: string[]): Promise<TgRun> =>
    new Promise((resolve) => {
      const child = spawn(path.join(VENV, 'bin', 'tg'), ['beta', 'jig', ...args], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, out });
      });
    });
  const ok = async (ctx: TestContext, ...args: string[]): Promise<string> => {
    if (skipReason) ctx.skip(skipReason);
    const run = await tg(...args);
    expect(run.code, run.out).toBe(0);
    expect(run.out).not.toMatch(/Jig failed|Traceback/);
    return run.out;
  };

  it('status, list and logs', async (ctx) => {
    const status = await ok(ctx, 'status');
    expect(status).toMatch(/Name {4}: hello-world/);
    expect(status).toContain('Status  : Ready');
    expect(await ok(ctx, 'list')).toContain('"name": "hello-world"');
    expect((await ok(ctx, 'logs')).trim().length).toBeGreaterThan(0);
  }, 120_000);

  it('submit --watch, job-status and queue-status', async (ctx) => {
    const watched = await ok(ctx, 'submit', '--payload', '{"name": "vendor"}', '--watch');
    expect(watched).toContain('"message": "Hello, vendor!"');
    const id = /Watching job (\S+)\.\.\./.exec(watched)![1]!;
    expect(JSON.parse(await ok(ctx, 'job-status', '--request-id', id))).toMatchObject({ status: 'done', request_id: id });
    expect(JSON.parse(await ok(ctx, 'queue-status'))).toMatchObject({ messages_waiting: 0 });
  }, 120_000);

  it('secrets set, list and delete', async (ctx) => {
    expect(await ok(ctx, 'secrets', 'set', '--name', 'HF_TOKEN', '--value', 'hf_vendor')).toContain('Created secret HF_TOKEN');
    expect(await ok(ctx, 'secrets', 'list')).toMatch(/- HF_TOKEN \[synced\]/);
    expect(await ok(ctx, 'secrets', 'delete', '--name', 'HF_TOKEN')).toContain('Deleted secret HF_TOKEN');
  }, 120_000);

  it('volumes create, describe and list', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    mkdirSync(path.join(project, 'pantry'), { recursive: true });
    writeFileSync(path.join(project, 'pantry', 'curry.txt'), 'curry\n');
    expect(await ok(ctx, 'volumes', 'create', '--name', 'vendor-pantry', '--source', 'pantry')).toContain('Upload completed');
    const described = JSON.parse(await ok(ctx, 'volumes', 'describe', '--name', 'vendor-pantry'));
    expect(described).toMatchObject({ name: 'vendor-pantry', current_version: 0 });
    expect(await ok(ctx, 'volumes', 'list')).toContain('vol_');
  }, 120_000);
});

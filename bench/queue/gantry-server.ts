/**
 * A real Gantry server for the benchmark: `gantry server` from source as a child process on the embedded
 * default (HTTPS with its own CA, SQLite state with synchronous writes), in a temporary data directory,
 * with a deployment whose queue the workloads use. Nothing here is tuned for the benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, fetch } from 'undici';
import type { Cleanup } from './cleanup.js';
import { REPO_ROOT, stopChild, waitUntil } from './system.js';

export interface GantryServer {
  url: string;
  key: string;
  caFile: string;
  /** The deployment whose queue the workloads use. */
  model: string;
  /** fetch with keep-alive connections that trust the server's CA. */
  request(method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  stop(): Promise<void>;
}

export async function startGantryServer(cleanup: Cleanup, log: (line: string) => void): Promise<GantryServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-bench-'));
  const key = `gantry_bench_${randomBytes(24).toString('base64url')}`;
  // BENCH_GANTRY_NODE_ARGS passes flags to the server's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_GANTRY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/bin/gantry.ts', 'server', '--port', '0'], {
    cwd: REPO_ROOT,
    env: { ...process.env, GANTRY_DATA_DIR: dataDir, GANTRY_ADMIN_KEY: key, GANTRY_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async () => {
    await stopChild(child, 10_000);
    rmSync(dataDir, { recursive: true, force: true });
  };
  cleanup.add('gantry server', stop);
  const { url, caFile } = await banner(child);
  log(`gantry: server at ${url}`);
  const agent = new Agent({ connect: { ca: readFileSync(caFile, 'utf8') }, connections: 64 });
  const request = async (method: string, target: string, body?: unknown) => {
    const res = await fetch(`${url}${target}`, {
      method,
      dispatcher: agent,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: await res.json() };
  };
  const server: GantryServer = { url, key, caFile, model: 'bench', request, stop };
  await createBenchDeployment(server);
  return server;
}

/** Reads the URL and CA file from the start-up banner. */
async function banner(child: ChildProcess): Promise<{ url: string; caFile: string }> {
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  await waitUntil('gantry server start', () => /Gantry is running at \S+/.test(out) || child.exitCode !== null, {
    timeoutMs: 30_000,
    detail: () => out,
  });
  const url = /Gantry is running at (\S+)/.exec(out)?.[1];
  const caFile = /CA certificate : (\S+)/.exec(out)?.[1];
  if (!url || !caFile) throw new Error(`gantry server did not start:\n${out}`);
  return { url, caFile };
}

/**
 * The queue belongs to a deployment. This one never runs replicas (max 0): the benchmark's own worker
 * processes take its jobs, with an admin key, as an external worker pool would.
 */
async function createBenchDeployment(server: GantryServer): Promise<void> {
  const res = await server.request('POST', '/v1/deployments', {
    name: server.model,
    image: 'local/bench',
    gpu_type: 'none',
    min_replicas: 0,
    max_replicas: 0,
    x_gantry_source: { path: path.join(REPO_ROOT, 'examples/hello-http') },
  });
  if (res.status !== 200) throw new Error(`creating the bench deployment failed: ${JSON.stringify(res.json)}`);
}

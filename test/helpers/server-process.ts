import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { exited, spawnTs } from './spawn-ts.js';

export interface ServerProcess {
  child: ChildProcess;
  /** e.g. https://127.0.0.1:41234 */
  url: string;
  /** The admin key, when this start created it (printed once). */
  printedAdminKey: string | undefined;
  caFile: string | undefined;
  output: () => string;
  /** A fetch that trusts the server's CA. */
  fetch: typeof undiciFetch;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | NodeJS.Signals>;
  kill(): Promise<number | NodeJS.Signals>;
}

/** Server processes still running; killed when the test process exits, so a failed test leaks none. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Runs `gantry server` from source as a real child process on a free port and reads its banner. */
export async function startServerProcess(dataDir: string, env: Record<string, string> = {}, port = 0): Promise<ServerProcess> {
  const child = spawnTs('src/bin/gantry.ts', ['server', '--port', String(port)], {
    env: { ...process.env, GANTRY_DATA_DIR: dataDir, GANTRY_LOG_LEVEL: 'warn', ...env },
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const url = await waitFor(() => /Gantry is running at (\S+)/.exec(out)?.[1], child, () => out);
  const caFile = /CA certificate : (\S+)/.exec(out)?.[1];
  const agent = new Agent({ connect: caFile ? { ca: readFileSync(caFile, 'utf8') } : {} });
  return {
    child,
    url,
    printedAdminKey: /admin key\s+: (gantry_\S+)/.exec(out)?.[1],
    caFile,
    output: () => out,
    fetch: ((input, init) => undiciFetch(input, { ...init, dispatcher: agent })) as typeof undiciFetch,
    stop: async () => {
      child.kill('SIGTERM');
      return exited(child);
    },
    kill: async () => {
      child.kill('SIGKILL');
      return exited(child);
    },
  };
}

async function waitFor(probe: () => string | undefined, child: ChildProcess, out: () => string): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const value = probe();
    if (value) return value;
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start in time:\n${out()}`);
}

/** One JSON request to a server process with an API key; the body is parsed whatever the status. */
export async function callApi<T = Record<string, unknown>>(
  server: ServerProcess,
  key: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await server.fetch(`${server.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
}

/** Polls `probe` until it returns a value, or fails naming `what` (and `detail()`) after `ms`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 60_000,
  intervalMs = 200,
  detail: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${detail()}`);
}

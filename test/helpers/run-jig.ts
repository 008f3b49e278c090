import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './spawn-ts.js';

export interface JigRun {
  code: number;
  stdout: string;
  stderr: string;
}

const TSX = import.meta.resolve('tsx');

/**
 * Runs the `jig` CLI from source (through tsx) as a real child process in `cwd`, with only the given
 * environment on top of PATH and HOME, so the caller's TOGETHER_* variables never leak in.
 */
export function runJig(args: string[], options: { cwd: string; env?: Record<string, string>; input?: string; timeoutMs?: number }): Promise<JigRun> {
  return startJig(args, options).result;
}

/** `runJig` with a handle on the running process (to send it SIGINT) and its output so far. */
export function startJig(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; input?: string; timeoutMs?: number },
): { child: ChildProcess; output: () => string; result: Promise<JigRun> } {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env };
  const child = spawn(process.execPath, ['--import', TSX, path.join(REPO_ROOT, 'cli/src/main.ts'), ...args], {
    cwd: options.cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const result = new Promise<JigRun>((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
  return { child, output: () => stdout, result };
}

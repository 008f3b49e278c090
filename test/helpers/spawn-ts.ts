import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs a TypeScript file of this repo in a real child Node process (through tsx). */
export function spawnTs(file: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.resolve(REPO_ROOT, file), ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
}

/** Resolves with the exit code (or signal) once the child has ended. */
export function exited(child: ChildProcess): Promise<number | NodeJS.Signals> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
}

/**
 * Runs a writer that prints `ack <n>` after each durable write, SIGKILLs it once it has acknowledged
 * `acks` writes, and resolves with the last acknowledged n and how the child ended.
 */
export async function killAfterAcks(
  file: string,
  args: string[],
  acks: number,
): Promise<{ last: number; ended: number | NodeJS.Signals }> {
  const child = spawnTs(file, args);
  let last = -1;
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) last = Number(line.slice(4));
    if (last >= acks) child.kill('SIGKILL');
  });
  return { ended: await exited(child), last };
}

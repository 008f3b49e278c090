import { spawn } from 'node:child_process';

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The `docker` client, as a seam: tests put a recording stand-in named `docker` on PATH. */
export interface Docker {
  /** Runs with the terminal attached (build output shows live); `input` goes to stdin. */
  run(args: string[], input?: string): Promise<number>;
  /** Runs and captures the output (inspect). */
  capture(args: string[]): Promise<DockerResult>;
}

/** `docker` from PATH with BuildKit on (the generated Dockerfile's `RUN --mount` needs it). */
export function systemDocker(env: NodeJS.ProcessEnv, cwd: string): Docker {
  const options = { cwd, env: { ...env, DOCKER_BUILDKIT: '1' } };
  return {
    run: (args, input) =>
      new Promise((resolve, reject) => {
        const child = spawn('docker', args, { ...options, stdio: [input === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'] });
        child.once('error', (err) => reject(dockerMissing(err)));
        child.once('close', (code) => resolve(code ?? 1));
        if (input !== undefined) child.stdin!.end(input);
      }),
    capture: (args) =>
      new Promise((resolve, reject) => {
        const child = spawn('docker', args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.once('error', (err) => reject(dockerMissing(err)));
        child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      }),
  };
}

function dockerMissing(err: Error & { code?: string }): Error {
  return err.code === 'ENOENT' ? new Error('the docker client was not found on PATH (build and push need Docker with BuildKit)') : err;
}

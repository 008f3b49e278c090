import { describe, expect, it } from 'vitest';
import { exited, spawnTs } from '../helpers/spawn-ts.js';

async function run(args: string[], env: Record<string, string> = {}) {
  const child = spawnTs('src/bin/gantry.ts', args, { env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return { code: await exited(child), stdout, stderr };
}

describe('gantry render', () => {
  it('prints the register request of a project with the configured cluster settings', async () => {
    const { code, stdout } = await run(['render', 'examples/hello-world'], { NOMAD_NAMESPACE: 'ml', GANTRY_NOMAD_NODE_POOL: 'gpu' });
    expect(code).toBe(0);
    const { Job } = JSON.parse(stdout) as { Job: { ID: string; Namespace: string; NodePool: string } };
    expect(Job).toMatchObject({ ID: 'gantry-hello-world', Namespace: 'ml', NodePool: 'gpu' });
  }, 60_000);

  it('exits 1 with the reason for a directory without a Jig config', async () => {
    const { code, stderr } = await run(['render', 'src']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/gantry render: .*no jig\.toml/);
  }, 60_000);
});

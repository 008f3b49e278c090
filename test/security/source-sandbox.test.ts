import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, startServerProcess, until, type ServerProcess } from '../helpers/server-process.js';
import { REPO_ROOT } from '../helpers/spawn-ts.js';

/**
 * Issue 15.1, second half: what a deployed replica's code can reach. Two real replicas (the admin's own
 * deployments, so the code runs as the project intends) are asked, over direct HTTP, to read the server's
 * data directory and the environment of the other replica and of the server; every answer must be a
 * failure, while the test itself (the server's user) reads the same files fine.
 */

const WORKER = path.join(REPO_ROOT, 'test/fixtures/replicas/http-worker');
const running_as_root = process.getuid?.() === 0;

type Answer = { content?: string; error?: string; written?: boolean };

/** Host pids of every process whose command line mentions `needle`. */
function pidsOf(needle: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('a replica cannot reach the data directory, the server or another replica', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gantry-sec-sandbox-'));
  const canary = `canary-${randomUUID()}`;
  let server: ServerProcess;
  let admin: string;

  beforeAll(async () => {
    server = await startServerProcess(dataDir, { GANTRY_SECURITY_CANARY: canary });
    admin = server.printedAdminKey!;
    for (const name of ['alpha', 'beta']) {
      const created = await callApi(server, admin, 'POST', '/v1/deployments', {
        name,
        image: `local/${name}`,
        gpu_type: 'none',
        health_check_path: '/health',
        environment_variables: [{ name: 'REPLICA_CANARY', value: `${name}-${canary}` }],
        x_gantry_source: { path: WORKER, cmd: `${process.execPath} server.mjs ${name}-marker` },
      });
      expect(created.status).toBe(200);
    }
    for (const name of ['alpha', 'beta']) {
      await until(`${name} ready`, async () => {
        const d = (await callApi<{ ready_replicas: number }>(server, admin, 'GET', `/v1/deployments/${name}`)).json;
        return d.ready_replicas === 1 ? d : undefined;
      }, 90_000, 250, () => `\n${server.output()}`);
    }
  }, 150_000);
  afterAll(async () => server?.stop());

  const ask = async (name: string, route: string, p: string): Promise<Answer> =>
    (await callApi<Answer>(server, admin, 'GET', `/v1/deployment-request/${name}/${route}?path=${encodeURIComponent(p)}`)).json;

  it('cannot read the admin key, the state database or any other file of the data directory', async () => {
    const files = ['admin-key', 'state.db', 'secrets.key', 'signing.key', 'tls/ca-key.pem', 'tls/server-key.pem'].map((f) => path.join(dataDir, f));
    const present = files.filter((f) => existsSync(f));
    expect(present).toEqual(expect.arrayContaining([path.join(dataDir, 'admin-key'), path.join(dataDir, 'state.db')]));
    for (const file of present) {
      expect(readFileSync(file).length).toBeGreaterThan(0); // the server's user can: the sandbox is what stops the replica
      const answer = await ask('alpha', 'read', file);
      expect({ file, answer }).toEqual({ file, answer: { error: 'ENOENT' } });
    }
    const replicaFiles = readdirSync(path.join(dataDir, 'replicas'));
    expect(replicaFiles.length).toBe(2);
    for (const id of replicaFiles) {
      expect((await ask('alpha', 'read', path.join(dataDir, 'replicas', id, 'replica.json'))).error).toBeDefined();
    }
  });

  it("cannot read /proc/<pid>/environ of the other replica or of the server, nor see their processes", async () => {
    const beta = pidsOf('beta-marker');
    const alpha = pidsOf('alpha-marker');
    expect(beta.length).toBeGreaterThan(0);
    // The test (the server's user) can read them: they hold the canaries the replica must not see.
    expect(readFileSync(`/proc/${Math.max(...beta)}/environ`, 'utf8')).toContain(`beta-${canary}`);
    expect(readFileSync(`/proc/${server.child.pid}/environ`, 'utf8')).toContain(canary);
    for (const pid of [...beta, ...alpha, server.child.pid!, process.pid]) {
      const answer = await ask('alpha', 'read', `/proc/${pid}/environ`);
      expect({ pid, answer }).toEqual({ pid, answer: { error: 'ENOENT' } });
    }
    // Its own PID namespace: pid 1 is the sandbox's init, and the replica itself a low pid.
    const own = await ask('alpha', 'read', '/proc/self/status');
    expect(Number(/^Pid:\s+(\d+)/m.exec(own.content ?? '')?.[1])).toBeLessThan(10);
    const env = (await callApi<Record<string, string>>(server, admin, 'GET', '/v1/deployment-request/alpha/env')).json;
    expect(env.REPLICA_CANARY).toBe(`alpha-${canary}`);
    expect(JSON.stringify(env)).not.toContain(`beta-${canary}`);
    expect(env.GANTRY_SECURITY_CANARY).toBeUndefined();
  });

  it.runIf(running_as_root)('runs as an unprivileged uid when the server is root', async () => {
    const status = (await ask('alpha', 'read', '/proc/self/status')).content ?? '';
    const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status)!.slice(1).map(Number);
    expect(uids.every((u) => u !== 0)).toBe(true);
    expect(/^CapEff:\s+0+$/m.test(status)).toBe(true);
    expect(/^NoNewPrivs:\s+1$/m.test(status)).toBe(true);
  });

  it('sees the machine read-only and has its own writable HOME, /tmp and project layer', async () => {
    expect(await ask('alpha', 'write', path.join(WORKER, 'server.mjs'))).toEqual({ error: expect.stringMatching(/EROFS|EACCES/) });
    expect(await ask('alpha', 'write', '/etc/gantry-planted')).toEqual({ error: expect.stringMatching(/EROFS|EACCES/) });
    // A new file next to the project's goes to the replica's own layer: not the project, not the sibling.
    expect(await ask('alpha', 'write', path.join(WORKER, 'planted.mjs'))).toEqual({ written: true });
    expect(existsSync(path.join(WORKER, 'planted.mjs'))).toBe(false);
    expect(await ask('beta', 'read', path.join(WORKER, 'planted.mjs'))).toEqual({ error: 'ENOENT' });
    const env = (await callApi<Record<string, string>>(server, admin, 'GET', '/v1/deployment-request/alpha/env')).json;
    expect(await ask('alpha', 'write', `${env.HOME}/cache.bin`)).toEqual({ written: true });
    expect(await ask('alpha', 'write', '/tmp/scratch.bin')).toEqual({ written: true });
    expect(await ask('beta', 'read', '/tmp/scratch.bin')).toEqual({ error: 'ENOENT' });
  });

  it('refuses a deployment from the worker token a replica holds', async () => {
    const env = (await callApi<Record<string, string>>(server, admin, 'GET', '/v1/deployment-request/alpha/env')).json;
    const token = env.TOGETHER_API_KEY!;
    expect(token).toMatch(/^gantryw_/);
    const body = { name: 'by-worker', image: 'local/w', gpu_type: 'none', x_gantry_source: { path: WORKER } };
    const refused = await callApi<{ error: { code: string } }>(server, token, 'POST', '/v1/deployments', body);
    expect(refused.status).toBe(403);
  });

  it("never runs a program the deployment's environment points at (PATH, LD_PRELOAD) as the server's user", async () => {
    const trap = mkdtempSync(path.join(tmpdir(), 'gantry-sec-trap-'));
    chmodSync(trap, 0o777);
    for (const name of ['env', 'bwrap', 'setpriv', 'sh', 'cat']) {
      writeFileSync(path.join(trap, name), `#!/bin/sh\nid -u >> ${trap}/ran-${name}\nexit 1\n`, { mode: 0o755 });
    }
    const created = await callApi(server, admin, 'POST', '/v1/deployments', {
      name: 'gamma',
      image: 'local/gamma',
      gpu_type: 'none',
      health_check_path: '',
      environment_variables: [
        { name: 'PATH', value: `${trap}:/usr/bin:/bin` },
        { name: 'LD_PRELOAD', value: path.join(trap, 'no-such.so') },
      ],
      x_gantry_source: { path: WORKER, cmd: `${process.execPath} server.mjs gamma-marker` },
    });
    expect(created.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const runs = readdirSync(trap).filter((f) => f.startsWith('ran-'));
    const uids = runs.flatMap((f) => readFileSync(path.join(trap, f), 'utf8').trim().split('\n'));
    expect({ runs, uids: uids.filter((u) => u === '0') }).toEqual({ runs, uids: [] });
    expect((await callApi(server, admin, 'DELETE', '/v1/deployments/gamma')).status).toBe(200);
  });

  it('still logs, and is stopped with its whole sandbox on delete', async () => {
    const logs = (await callApi<{ lines: string[] }>(server, admin, 'GET', '/v1/deployments/beta/logs')).json.lines.join('\n');
    expect(logs).toMatch(/worker started on port \d+/);
    expect((await callApi(server, admin, 'DELETE', '/v1/deployments/beta')).status).toBe(200);
    await until('beta gone', async () => (pidsOf('beta-marker').length === 0 ? true : undefined), 30_000);
    const after = readdirSync(path.join(dataDir, 'replicas'));
    expect(after.length).toBe(1);
  });
});

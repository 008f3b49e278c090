/**
 * Throwaway PostgreSQL and Redis servers for the queue comparison, from Debian's packages (installed here
 * when missing), in temporary folders, on free ports on 127.0.0.1 only. Both are configured to be as
 * durable as a team would run them for a job queue:
 *
 *   - PostgreSQL: fsync = on, synchronous_commit = on, full_page_writes = on (every acknowledged commit
 *     is on disk; graphile-worker's add and complete are one commit each);
 *   - Redis: appendonly yes, appendfsync everysec, no RDB snapshots (an acknowledged write can be lost
 *     for up to about a second after a crash; this is what BullMQ's docs recommend).
 *
 * initdb and postgres refuse to run as root, so as root they run as Debian's `postgres` user via
 * `runuser`, in a folder that user owns.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Cleanup } from './cleanup.js';
import { once } from './cleanup.js';
import { ensureDebianPackages, findExecutable, findPostgresBinDir, freePort, runCommand, stopChild, tail, waitUntil } from './system.js';

export interface PostgresServer {
  /** postgres://bench@127.0.0.1:<port>/postgres (trust auth on loopback; the server is throwaway). */
  url: string;
  version: string;
  stop(): Promise<void>;
}

export interface RedisServer {
  host: '127.0.0.1';
  port: number;
  version: string;
  /** CONFIG GET for each name, via redis-cli (from redis-tools, which redis-server depends on). */
  config(names: string[]): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export interface Services {
  postgres: PostgresServer;
  redis: RedisServer;
  /** Stops both servers and removes their folders; safe to call more than once. */
  stop(): Promise<void>;
}

type Log = (line: string) => void;

/**
 * Installs what is missing, then starts PostgreSQL and Redis side by side. Each server registers its
 * stop with `cleanup` as soon as it has a folder, so an interrupt during start-up still removes it.
 */
export async function startServices(log: Log, cleanup: Cleanup): Promise<Services> {
  const missing = [
    ...(findPostgresBinDir() ? [] : ['postgresql']),
    ...(findExecutable('redis-server') ? [] : ['redis-server']),
  ];
  await ensureDebianPackages(missing, log);
  const [pg, redis] = await Promise.allSettled([startPostgres(log, cleanup), startRedis(log, cleanup)]);
  if (pg.status === 'rejected' || redis.status === 'rejected') {
    if (pg.status === 'fulfilled') await pg.value.stop();
    if (redis.status === 'fulfilled') await redis.value.stop();
    throw pg.status === 'rejected' ? pg.reason : (redis as PromiseRejectedResult).reason;
  }
  const postgres = pg.value;
  const redisServer = redis.value;
  return {
    postgres,
    redis: redisServer,
    stop: once(async () => {
      const results = await Promise.allSettled([postgres.stop(), redisServer.stop()]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }),
  };
}

/** initdb + pg_ctl start into a fresh temporary folder; `stop()` shuts it down fast and deletes it. */
export async function startPostgres(log: Log, cleanup: Cleanup): Promise<PostgresServer> {
  const binDir = findPostgresBinDir();
  if (!binDir) throw new Error('PostgreSQL server binaries not found in /usr/lib/postgresql/<version>/bin');
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-bench-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const asOwner = await postgresOwner(dir).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const pgCtl = path.join(binDir, 'pg_ctl');
  const stop = once(async () => {
    await asOwner(pgCtl, ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']).catch(() => killPostmaster(data));
    rmSync(dir, { recursive: true, force: true });
  });
  cleanup.add('postgres', stop);
  try {
    const port = await freePort();
    await asOwner(path.join(binDir, 'initdb'), ['-D', data, '-U', 'bench', '--auth=trust', '--encoding=UTF8', '--locale=C'], 120_000);
    appendFileSync(path.join(data, 'postgresql.conf'), postgresConf(port, dir));
    await asOwner(pgCtl, ['-D', data, '-l', logFile, '-w', '-t', '60', 'start'], 90_000).catch((err: Error) => {
      throw new Error(`${err.message}\npostgres.log:\n${readTail(logFile)}`, { cause: err });
    });
    const version = (await runCommand(path.join(binDir, 'postgres'), ['--version'])).trim();
    log(`postgres: ${version} on 127.0.0.1:${port} (fsync on, synchronous_commit on) in ${dir}`);
    return { url: `postgres://bench@127.0.0.1:${port}/postgres`, version, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

function postgresConf(port: number, dir: string): string {
  return [
    '',
    '# gantry bench: loopback only, durable commits',
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    'fsync = on',
    'synchronous_commit = on',
    'full_page_writes = on',
    'max_connections = 300',
    '',
  ].join('\n');
}

/**
 * Runs PostgreSQL's programs as the folder's owner: ourselves, or (as root, which initdb refuses) the
 * `postgres` user that Debian's package creates, via runuser.
 */
async function postgresOwner(dir: string): Promise<(cmd: string, args: string[], timeoutMs?: number) => Promise<string>> {
  if (process.getuid?.() !== 0) return (cmd, args, timeoutMs) => runCommand(cmd, args, { cwd: dir, timeoutMs });
  const ids = await runCommand('id', ['-u', 'postgres']).then(
    async (uid) => ({ uid: Number(uid), gid: Number(await runCommand('id', ['-g', 'postgres'])) }),
    () => {
      throw new Error("initdb refuses to run as root and there is no 'postgres' user (Debian's postgresql package creates it)");
    },
  );
  chownSync(dir, ids.uid, ids.gid);
  return (cmd, args, timeoutMs) => runCommand('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: dir, timeoutMs });
}

/** Last resort when pg_ctl stop fails: kill the postmaster named in postmaster.pid. */
function killPostmaster(data: string): void {
  try {
    const pid = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // no pid file: it is not running
  }
}

/** redis-server in the foreground as our child, AOF on with fsync every second, no RDB snapshots. */
export async function startRedis(log: Log, cleanup: Cleanup): Promise<RedisServer> {
  const bin = findExecutable('redis-server');
  if (!bin) throw new Error('redis-server not found on PATH');
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-bench-redis-'));
  const logFile = path.join(dir, 'redis.log');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes', '--appendonly', 'yes'];
  args.push('--appendfsync', 'everysec', '--save', '', '--dir', dir, '--daemonize', 'no', '--logfile', logFile);
  const child = spawn(bin, args, { stdio: 'ignore' });
  const stop = once(async () => {
    await stopChild(child, 10_000);
    rmSync(dir, { recursive: true, force: true });
  });
  cleanup.add('redis', stop);
  try {
    await waitUntil(`redis-server on 127.0.0.1:${port}`, () => exitedOr(child, redisPing(port)), {
      timeoutMs: 30_000,
      detail: () => `redis.log:\n${readTail(logFile)}`,
    });
    const version = (await runCommand(bin, ['--version'])).trim();
    log(`redis: ${version.split(' ').slice(0, 3).join(' ')} on 127.0.0.1:${port} (appendfsync everysec) in ${dir}`);
    return { host: '127.0.0.1', port, version, config: (names) => redisConfig(port, names), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Fails fast (instead of polling to the deadline) when the server process has already exited. */
async function exitedOr(child: ChildProcess, probe: Promise<boolean>): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode})`);
  }
  return probe;
}

async function redisConfig(port: number, names: string[]): Promise<Record<string, string>> {
  const cli = findExecutable('redis-cli');
  if (!cli) throw new Error('redis-cli not found on PATH (Debian package redis-tools)');
  const settings: Record<string, string> = {};
  for (const name of names) {
    const [, value = '?'] = (await runCommand(cli, ['-h', '127.0.0.1', '-p', String(port), 'config', 'get', name])).split('\n');
    settings[name] = value.trim();
  }
  return settings;
}

/** Sends PING over a raw socket and expects +PONG (no client library needed). */
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
  });
}

function readTail(file: string): string {
  try {
    return tail(readFileSync(file, 'utf8'));
  } catch {
    return '(no log)';
  }
}

import { describe, expect, it } from 'vitest';
import {
  MountPlanError,
  planNamespace,
  volumeMounts,
  type HostEntry,
  type HostView,
  type NamespaceMount,
} from '../../../../src/scheduler/local/mount-plan.js';

const dir = (name: string): HostEntry => ({ name, kind: 'dir' });
const file = (name: string): HostEntry => ({ name, kind: 'file' });
const link = (name: string, target: string): HostEntry => ({ name, kind: 'symlink', target });

/** A small host: the planner only ever sees this table. */
const TREE: Record<string, HostEntry[]> = {
  '/': [dir('usr'), dir('etc'), dir('opt'), dir('proc'), dir('dev'), dir('tmp'), dir('srv'), link('lib', 'usr/lib'), file('.dockerenv')],
  '/usr': [dir('bin'), dir('lib'), dir('share')],
  '/usr/lib': [dir('x86_64-linux-gnu')],
  '/usr/share': [dir('doc'), dir('models')],
  '/opt': [dir('tools'), file('README')],
  '/srv': [dir('app'), dir('other')],
  '/srv/app': [dir('.gantry'), file('app.py'), dir('data')],
  '/srv/app/.gantry': [file('admin-key'), file('state.db'), dir('venvs')],
};
const host: HostView = { list: (d) => TREE[d] };

/** bwrap arguments grouped into one string per operation, for readable expectations. */
function ops(args: string[]): string[] {
  const arity: Record<string, number> = {
    '--proc': 1, '--dir': 1, '--tmpfs': 1, '--perms': 1, '--bind': 2, '--dev-bind': 2, '--ro-bind': 2, '--symlink': 2,
  };
  const out: string[] = [];
  for (let i = 0; i < args.length; i += 1 + arity[args[i]!]!) out.push(args.slice(i, i + 1 + arity[args[i]!]!).join(' '));
  return out;
}

const BASE = ['--proc /proc', '--dev-bind /dev /dev', '--tmpfs /dev/shm'];
const TOP = ['--ro-bind /.dockerenv /.dockerenv', '--ro-bind /etc /etc', '--symlink usr/lib /lib'];
const volumes = (list: Array<[string, string]>) => volumeMounts(list.map(([hostPath, mountPath]) => ({ hostPath, mountPath })), host);

describe('planNamespace', () => {
  it('shows the whole host read-only, with its own /proc, /dev, private /dev/shm and /tmp', () => {
    expect(ops(planNamespace([{ kind: 'scratch', path: '/tmp' }], host))).toEqual([
      ...BASE, ...TOP, '--ro-bind /opt /opt', '--ro-bind /srv /srv', '--ro-bind /usr /usr', '--perms 1777', '--tmpfs /tmp',
    ]);
  });

  it('binds the children of an existing parent one by one, so a volume mount point is made in the namespace', () => {
    expect(ops(planNamespace(volumes([['/data/v/0', '/opt/pantry']]), host))).toEqual([
      ...BASE, ...TOP, '--dir /opt', '--ro-bind /opt/README /opt/README', '--ro-bind /opt/tools /opt/tools',
      '--ro-bind /srv /srv', '--ro-bind /tmp /tmp', '--ro-bind /usr /usr', '--ro-bind /data/v/0 /opt/pantry',
    ]);
  });

  it('hides a data directory inside the project and shows only the virtualenv in it', () => {
    const mounts: NamespaceMount[] = [
      { kind: 'ro', path: '/srv/app' },
      { kind: 'hidden', path: '/srv/app/.gantry' },
      { kind: 'ro', path: '/srv/app/.gantry/venvs/abc' },
      { kind: 'rw', path: '/srv/app/.gantry/replicas/r-0/home' },
    ];
    expect(ops(planNamespace(mounts, host))).toEqual([
      ...BASE, ...TOP, '--ro-bind /opt /opt', '--dir /srv', '--ro-bind /srv/other /srv/other', '--ro-bind /tmp /tmp', '--ro-bind /usr /usr',
      '--ro-bind /srv/app /srv/app',
      '--dir /srv/app', '--tmpfs /srv/app/.gantry',
      '--dir /srv/app/.gantry', '--dir /srv/app/.gantry/venvs', '--ro-bind /srv/app/.gantry/venvs/abc /srv/app/.gantry/venvs/abc',
      '--dir /srv/app/.gantry/replicas', '--dir /srv/app/.gantry/replicas/r-0',
      '--bind /srv/app/.gantry/replicas/r-0/home /srv/app/.gantry/replicas/r-0/home',
    ]);
  });

  it("layers the project: its entries read-only over the replica's own writable directory, data directory hidden", () => {
    const mounts: NamespaceMount[] = [
      { kind: 'layered', path: '/srv/app', hostPath: '/srv/app', scratch: '/var/r-0/work' },
      { kind: 'hidden', path: '/srv/app/.gantry' },
      ...volumes([['/data/w', '/srv/app/weights']]),
    ];
    const plan = ops(planNamespace(mounts, host));
    expect(plan.slice(plan.indexOf('--bind /var/r-0/work /srv/app'))).toEqual([
      '--bind /var/r-0/work /srv/app',
      '--ro-bind /srv/app/app.py /srv/app/app.py',
      '--ro-bind /srv/app/data /srv/app/data',
      '--dir /srv/app',
      '--tmpfs /srv/app/.gantry',
      '--ro-bind /data/w /srv/app/weights',
    ]);
    // Inside one of the project's own (read-only) entries, the mount point must exist there.
    const deep: NamespaceMount[] = [mounts[0]!, ...volumes([['/data/w', '/srv/app/data/missing']])];
    expect(() => planNamespace(deep, host)).toThrow(/which is read-only/);
  });

  it('follows a host symlink on the way to a volume mount path', () => {
    const plan = ops(planNamespace(volumes([['/data/m/0', '/lib/models']]), host));
    expect(plan).toContain('--ro-bind /data/m/0 /usr/lib/models');
    expect(plan).toContain('--ro-bind /usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu');
    expect(plan.filter((op) => op.startsWith('--bind'))).toEqual([]);
  });

  it('refuses a mount inside a read-only bind where its mount point does not exist', () => {
    const mounts: NamespaceMount[] = [{ kind: 'ro', path: '/srv/app' }, ...volumes([['/data/v', '/srv/app/weights']])];
    expect(() => planNamespace(mounts, host)).toThrow(/inside \/srv\/app, which is read-only/);
    const existing: NamespaceMount[] = [{ kind: 'ro', path: '/srv/app' }, ...volumes([['/data/v', '/srv/app/data']])];
    expect(ops(planNamespace(existing, host)).at(-1)).toBe('--ro-bind /data/v /srv/app/data');
  });

  it.each([
    { name: 'a relative mount path', mountPath: 'pantry', message: /not absolute/ },
    { name: 'the root', mountPath: '/', message: /whole file system/ },
    { name: 'a path inside /proc', mountPath: '/proc/x', message: /inside \/proc/ },
    { name: 'a path inside /dev', mountPath: '/dev/shm/models', message: /inside \/dev/ },
  ])('refuses a volume at $name', ({ mountPath, message }) => {
    expect(() => volumes([['/data/v/0', mountPath]])).toThrow(MountPlanError);
    expect(() => volumes([['/data/v/0', mountPath]])).toThrow(message);
  });

  it('refuses a volume under a file', () => {
    expect(() => planNamespace(volumes([['/data/v/0', '/.dockerenv/x']]), host)).toThrow(/not a directory/);
  });

  it.each([
    { name: 'nested mount paths', paths: ['/opt/a', '/opt/a/b'], message: /inside another mount path/ },
    { name: 'one mount path twice', paths: ['/opt/a', '/opt/a/'], message: /share one mount path/ },
  ])('refuses $name', ({ paths, message }) => {
    expect(() => volumes(paths.map((p, i) => [`/data/${i}`, p]))).toThrow(message);
  });
});

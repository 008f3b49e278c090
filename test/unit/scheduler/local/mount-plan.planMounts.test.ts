import { describe, expect, it } from 'vitest';
import { MountPlanError, planMounts, type HostEntry, type HostView } from '../../../../src/scheduler/local/mount-plan.js';

const dir = (name: string): HostEntry => ({ name, kind: 'dir' });
const file = (name: string): HostEntry => ({ name, kind: 'file' });
const link = (name: string, target: string): HostEntry => ({ name, kind: 'symlink', target });

/** A small host: the planner only ever sees this table. */
const TREE: Record<string, HostEntry[]> = {
  '/': [dir('usr'), dir('etc'), dir('opt'), dir('proc'), dir('dev'), dir('tmp'), link('lib', 'usr/lib'), file('.dockerenv')],
  '/usr': [dir('bin'), dir('lib'), dir('share')],
  '/usr/lib': [dir('x86_64-linux-gnu')],
  '/usr/share': [dir('doc'), dir('models')],
  '/opt': [dir('tools'), file('README')],
};
const host: HostView = { list: (d) => TREE[d] };

/** bwrap arguments grouped into one string per operation, for readable expectations. */
function ops(args: string[]): string[] {
  const arity: Record<string, number> = { '--proc': 1, '--dir': 1, '--bind': 2, '--dev-bind': 2, '--ro-bind': 2, '--symlink': 2 };
  const out: string[] = [];
  for (let i = 0; i < args.length; i += 1 + arity[args[i]!]!) out.push(args.slice(i, i + 1 + arity[args[i]!]!).join(' '));
  return out;
}

const BASE = ['--proc /proc', '--dev-bind /dev /dev'];
const WHOLE_TOP = ['--bind /.dockerenv /.dockerenv', '--bind /etc /etc', '--symlink usr/lib /lib'];
/** `/opt` rebuilt child by child, so a mount point can be made inside it. */
const OPT_BY_CHILD = ['--dir /opt', '--bind /opt/README /opt/README', '--bind /opt/tools /opt/tools'];

describe('planMounts', () => {
  it.each([
    {
      name: 'binds the whole host and adds a mount point that does not exist on the host',
      volumes: [{ hostPath: '/data/v/0', mountPath: '/pantry' }],
      expected: [...BASE, ...WHOLE_TOP, '--bind /opt /opt', '--bind /tmp /tmp', '--bind /usr /usr', '--ro-bind /data/v/0 /pantry'],
    },
    {
      name: 'binds the children of an existing parent one by one, so the mount point is made in the namespace',
      volumes: [{ hostPath: '/data/v/0', mountPath: '/opt/pantry' }],
      expected: [
        ...BASE,
        ...WHOLE_TOP,
        ...OPT_BY_CHILD,
        '--bind /tmp /tmp',
        '--bind /usr /usr',
        '--ro-bind /data/v/0 /opt/pantry',
      ],
    },
    {
      name: 'hides an existing directory at the mount path and recurses through every ancestor',
      volumes: [{ hostPath: '/data/m/3', mountPath: '/usr/share/models' }],
      expected: [
        ...BASE,
        ...WHOLE_TOP,
        '--bind /opt /opt',
        '--bind /tmp /tmp',
        '--dir /usr',
        '--bind /usr/bin /usr/bin',
        '--bind /usr/lib /usr/lib',
        '--dir /usr/share',
        '--bind /usr/share/doc /usr/share/doc',
        '--ro-bind /data/m/3 /usr/share/models',
      ],
    },
    {
      name: 'follows a host symlink on the way to the mount path',
      volumes: [{ hostPath: '/data/m/0', mountPath: '/lib/models' }],
      expected: [
        ...BASE,
        ...WHOLE_TOP,
        '--bind /opt /opt',
        '--bind /tmp /tmp',
        '--dir /usr',
        '--bind /usr/bin /usr/bin',
        '--dir /usr/lib',
        '--bind /usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu',
        '--bind /usr/share /usr/share',
        '--ro-bind /data/m/0 /usr/lib/models',
      ],
    },
    {
      name: 'plans two volumes under one parent and normalises their paths',
      volumes: [
        { hostPath: '/data/a/0', mountPath: '/opt//a/' },
        { hostPath: '/data/b/1', mountPath: '/opt/b' },
      ],
      expected: [
        ...BASE,
        ...WHOLE_TOP,
        ...OPT_BY_CHILD,
        '--bind /tmp /tmp',
        '--bind /usr /usr',
        '--ro-bind /data/a/0 /opt/a',
        '--ro-bind /data/b/1 /opt/b',
      ],
    },
    {
      name: 'binds everything but /proc and /dev without volumes (sandbox: bwrap)',
      volumes: [],
      expected: [...BASE, ...WHOLE_TOP, '--bind /opt /opt', '--bind /tmp /tmp', '--bind /usr /usr'],
    },
  ])('$name', ({ volumes, expected }) => {
    expect(ops(planMounts(volumes, host))).toEqual(expected);
  });

  it.each([
    { name: 'a relative mount path', mountPath: 'pantry', message: /not absolute/ },
    { name: 'the root', mountPath: '/', message: /whole file system/ },
    { name: 'a path inside /proc', mountPath: '/proc/x', message: /inside \/proc/ },
    { name: 'a path inside /dev', mountPath: '/dev/shm/models', message: /inside \/dev/ },
    { name: 'a path under a file', mountPath: '/.dockerenv/x', message: /not a directory/ },
  ])('refuses $name', ({ mountPath, message }) => {
    expect(() => planMounts([{ hostPath: '/data/v/0', mountPath }], host)).toThrow(MountPlanError);
    expect(() => planMounts([{ hostPath: '/data/v/0', mountPath }], host)).toThrow(message);
  });

  it.each([
    { name: 'nested mount paths', paths: ['/opt/a', '/opt/a/b'], message: /inside another mount path/ },
    { name: 'one mount path twice', paths: ['/opt/a', '/opt/a/'], message: /share one mount path/ },
  ])('refuses $name', ({ paths, message }) => {
    const volumes = paths.map((mountPath, i) => ({ hostPath: `/data/${i}`, mountPath }));
    expect(() => planMounts(volumes, host)).toThrow(message);
  });
});

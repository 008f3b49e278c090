import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { problemsOf } from '../../helpers/config-problems.js';

describe('source roots and sandbox settings', () => {
  it('defaults to no roots, the sandbox required, and uids 200000-299999', () => {
    const config = loadConfig({ env: {}, cwd: '/srv' });
    expect(config.sourceRoots).toEqual([]);
    expect(config.sandbox).toEqual({ mode: 'bwrap', uids: [200_000, 299_999] });
  });

  it('reads GANTRY_SOURCE_ROOTS as a ":" list of absolute paths, GANTRY_SANDBOX and GANTRY_SANDBOX_UIDS', () => {
    const env = { GANTRY_SOURCE_ROOTS: '/srv/projects:/home/team/apps', GANTRY_SANDBOX: 'none', GANTRY_SANDBOX_UIDS: '50000-50999' };
    const config = loadConfig({ env, cwd: '/srv' });
    expect(config.sourceRoots).toEqual(['/srv/projects', '/home/team/apps']);
    expect(config.sandbox).toEqual({ mode: 'none', uids: [50_000, 50_999] });
  });

  it.each([
    ['GANTRY_SOURCE_ROOTS', 'relative/dir'],
    ['GANTRY_SANDBOX', 'auto'],
    ['GANTRY_SANDBOX_UIDS', '0-100'],
    ['GANTRY_SANDBOX_UIDS', '300000-200000'],
    ['GANTRY_SANDBOX_UIDS', 'lots'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    const problems = problemsOf(() => loadConfig({ env: { [name]: value } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(name);
  });
});

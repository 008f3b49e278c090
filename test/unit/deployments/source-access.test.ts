import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveLocalSource } from '../../../src/deployments/local-source.js';
import { assertMayNameSource, confinedFile, sourceCallerOf, type SourceCaller } from '../../../src/deployments/source-access.js';
import { isAppError } from '../../../src/shared/errors.js';

const base = realpathSync(mkdtempSync(path.join(tmpdir(), 'gantry-source-rules-')));
const root = path.join(base, 'projects');
const project = path.join(root, 'app');
const outside = path.join(base, 'elsewhere');
mkdirSync(project, { recursive: true });
mkdirSync(outside);
writeFileSync(path.join(outside, 'admin-key'), 'gantry_not_a_toml_file\n');
symlinkSync(outside, path.join(root, 'escape'));
symlinkSync(path.join(outside, 'admin-key'), path.join(project, 'jig.toml'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const user: SourceCaller = { kind: 'user', allowLocalSource: false };
const flagged: SourceCaller = { kind: 'user', allowLocalSource: true };
const admin: SourceCaller = { kind: 'admin', allowLocalSource: true };
const worker: SourceCaller = { kind: 'worker', allowLocalSource: false };

function refusal(fn: () => unknown): { code: string; status: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (isAppError(err)) return { code: err.code, status: err.status, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('who may name a local source', () => {
  it('lets the admin key and a key with --allow-local-source name any directory', () => {
    expect(() => assertMayNameSource(admin, outside, [])).not.toThrow();
    expect(() => assertMayNameSource(flagged, outside, [])).not.toThrow();
  });

  it('refuses a plain user key with no roots set, naming both settings that would allow it', () => {
    const r = refusal(() => assertMayNameSource(user, project, []));
    expect(r).toMatchObject({ code: 'GANTRY_ERR_SOURCE_FORBIDDEN', status: 403 });
    expect(r.message).toContain('GANTRY_SOURCE_ROOTS');
    expect(r.message).toContain('--allow-local-source');
  });

  it('lets a user key name a directory inside a root, and the root itself', () => {
    expect(() => assertMayNameSource(user, project, [root])).not.toThrow();
    expect(() => assertMayNameSource(user, root, [root])).not.toThrow();
  });

  it('compares real paths: neither ".." nor a symbolic link leads out of a root', () => {
    for (const p of [`${project}/../../elsewhere`, path.join(root, 'escape'), `${root}-sibling`]) {
      expect(refusal(() => assertMayNameSource(user, p, [root])).code).toBe('GANTRY_ERR_SOURCE_FORBIDDEN');
    }
  });

  it('answers the same for a missing and an existing directory outside the roots (no existence oracle)', () => {
    const missing = refusal(() => assertMayNameSource(user, path.join(outside, 'nope'), [root]));
    const existing = refusal(() => assertMayNameSource(user, outside, [root]));
    expect(missing.message).toBe(existing.message);
  });

  it('never lets a worker token name a source, roots or not', () => {
    expect(refusal(() => assertMayNameSource(worker, project, [root])).status).toBe(403);
  });

  it('maps principals: admin role, user flag, worker tokens and no principal', () => {
    expect(sourceCallerOf({ kind: 'user', keyId: 'a', name: 'a', role: 'admin' }).kind).toBe('admin');
    expect(sourceCallerOf({ kind: 'user', keyId: 'u', name: 'u', role: 'user', allowLocalSource: true })).toEqual(flagged);
    expect(sourceCallerOf({ kind: 'user', keyId: 'u', name: 'u', role: 'user' })).toEqual(user);
    expect(sourceCallerOf({ kind: 'worker', keyId: 'w', name: 'w', deploymentId: 'd', replicaId: undefined })).toEqual(worker);
    expect(sourceCallerOf(undefined)).toEqual(worker);
  });
});

describe('config confinement', () => {
  it('refuses a config outside the project, as written or through a link, without reading it', () => {
    for (const name of ['../../elsewhere/admin-key', path.join(outside, 'admin-key'), 'jig.toml']) {
      const r = refusal(() => confinedFile(project, name, 'x_gantry_source.config'));
      expect(r).toMatchObject({ code: 'GANTRY_ERR_REQUEST_INVALID', status: 400 });
      expect(r.message).not.toContain('gantry_not_a_toml_file');
    }
  });

  it('gives the real file inside, and undefined for a missing one inside', () => {
    writeFileSync(path.join(project, 'deploy.toml'), '[image]\ncmd = "python serve.py"\n');
    expect(confinedFile(project, 'deploy.toml', 'p')).toBe(path.join(project, 'deploy.toml'));
    expect(confinedFile(project, 'absent.toml', 'p')).toBeUndefined();
  });

  it('resolveLocalSource never parses a default config that links outside (no parse-error oracle)', () => {
    const r = refusal(() => resolveLocalSource({ path: project }));
    expect(r.status).toBe(400);
    expect(r.message).not.toMatch(/gantry_not_a_toml_file|Invalid TOML|admin-key/);
    expect(resolveLocalSource({ path: project, config: 'deploy.toml' }).cmd).toEqual(['python', 'serve.py']);
  });
});

import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replicaIdentity, shareWithGroup } from '../../../../src/scheduler/local/sandbox-identity.js';

describe('replicaIdentity', () => {
  it('gives each deployment a stable uid inside the range, above its first id, in group first', () => {
    const a = replicaIdentity('dep-a', [200_000, 299_999]);
    expect(replicaIdentity('dep-a', [200_000, 299_999])).toEqual(a);
    expect(a.gid).toBe(200_000);
    const uids = new Set(Array.from({ length: 200 }, (_, i) => replicaIdentity(`dep-${i}`, [200_000, 299_999]).uid));
    for (const uid of uids) expect(uid > 200_000 && uid <= 299_999).toBe(true);
    expect(uids.size).toBeGreaterThan(190);
  });

  it('uses the one id of a one-id range', () => {
    expect(replicaIdentity('dep-a', [5000, 5000])).toEqual({ uid: 5000, gid: 5000 });
  });
});

describe.runIf(process.getuid?.() === 0)('shareWithGroup', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-share-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the group read (and search/execute where the owner has it), nothing to others, links untouched', () => {
    mkdirSync(path.join(dir, 'sub'), { mode: 0o700 });
    writeFileSync(path.join(dir, 'sub', 'data.bin'), 'x', { mode: 0o600 });
    writeFileSync(path.join(dir, 'run.sh'), 'x', { mode: 0o700 });
    symlinkSync('/etc/passwd', path.join(dir, 'link'));
    chmodSync(dir, 0o700);
    shareWithGroup(dir, 200_000);
    const mode = (p: string) => statSync(path.join(dir, p)).mode & 0o777;
    expect([mode('.'), mode('sub'), mode('sub/data.bin'), mode('run.sh')]).toEqual([0o750, 0o750, 0o640, 0o750]);
    expect(statSync(path.join(dir, 'sub', 'data.bin')).gid).toBe(200_000);
    expect(statSync('/etc/passwd').gid).toBe(0);
  });
});

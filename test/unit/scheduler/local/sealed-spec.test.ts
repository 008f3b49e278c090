import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UnsealError } from '../../../../src/secrets/local/seal.js';
import { sealSpec, unsealSpec, type SealScope } from '../../../../src/scheduler/local/sealed-spec.js';
import { workerSpec } from '../../../contracts/scheduler-support.js';

const key = randomBytes(32);
const scope: SealScope = { kind: 'replica', id: 'fixture-00000001-0' };
const spec = workerSpec({ secretEnv: { HF_TOKEN: 'hf_secret_value' } });

describe('sealSpec / unsealSpec', () => {
  it('seals the secret values and opens them again with the same key and scope', () => {
    const stored = sealSpec(key, spec, scope);
    expect(stored).not.toHaveProperty('secretEnv');
    expect(JSON.stringify(stored)).not.toContain('hf_secret_value');
    expect(unsealSpec(key, stored, scope)).toEqual(spec);
  });

  it('keeps the spec as it is without a key', () => {
    expect(sealSpec(undefined, spec, scope)).toEqual(spec);
    expect(unsealSpec(undefined, spec, scope)).toEqual(spec);
  });

  it.each([
    { name: 'another key', open: () => unsealSpec(randomBytes(32), sealSpec(key, spec, scope), scope) },
    { name: 'another record id', open: () => unsealSpec(key, sealSpec(key, spec, scope), { ...scope, id: 'other-0' }) },
    { name: 'another kind', open: () => unsealSpec(key, sealSpec(key, spec, scope), { ...scope, kind: 'deployment' }) },
    { name: 'no key', open: () => unsealSpec(undefined, sealSpec(key, spec, scope), scope) },
    { name: 'a plain env that is not a map of strings', open: () => unsealSpec(key, { ...spec, secretEnv: { A: 1 } as never }, scope) },
  ])('refuses $name with an UnsealError', ({ open }) => {
    expect(open).toThrow(UnsealError);
  });
});

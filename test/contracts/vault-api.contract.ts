import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What Gantry relies on in Vault's HTTP API, asserted at the wire level so the double and a real Vault
 * (`VAULT_ADDR`, `VAULT_TOKEN`, KV v2 at `secret/` as `vault server -dev` mounts it) answer alike.
 */

export interface VaultTarget {
  url: string;
  token: string;
  mount: string;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export function describeVaultApiContract(name: string, makeTarget: () => Promise<VaultTarget>): void {
  describe(`Vault API contract: ${name}`, () => {
    let t: VaultTarget;
    const ns = `gantry-contract-${process.pid}-${Date.now()}`;
    const call = async (method: string, path: string, body?: object, token: string | null = t.token): Promise<Answer> => {
      const res = await fetch(`${t.url}/v1/${path}`, {
        method,
        headers: { ...(token ? { 'x-vault-token': token } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const data = (p: string) => `${t.mount}/data/${ns}/${p}`;
    const meta = (p: string) => `${t.mount}/metadata/${ns}/${p}`;

    /** Deletes every key (all versions and metadata) under the run's namespace, whatever the tests wrote. */
    async function purge(dir: string): Promise<void> {
      const listed = await call('GET', `${t.mount}/metadata/${ns}/${dir}?list=true`);
      for (const key of (listed.body.data?.keys ?? []) as string[]) {
        if (key.endsWith('/')) await purge(`${dir}${key}`);
        else await call('DELETE', meta(`${dir}${key}`));
      }
    }

    beforeAll(async () => {
      t = await makeTarget();
    });
    afterAll(async () => {
      await purge('');
      await t.close();
    });

    it('answers 403 permission denied without a valid token', async () => {
      for (const token of [null, 'hvs.not-a-token']) {
        const res = await call('GET', data('a'), undefined, token);
        expect(res.status).toBe(403);
        expect(res.body.errors).toEqual(['permission denied']);
      }
    });

    it('answers 404 with an empty errors list for a missing secret', async () => {
      const res = await call('GET', data('missing'));
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ errors: [] });
    });

    it('writes versions and reads the latest or a given one', async () => {
      const first = await call('POST', data('a'), { data: { k: 'v1' } });
      expect(first.status).toBe(200);
      expect(first.body.data).toMatchObject({ version: 1, destroyed: false, deletion_time: '' });
      await call('POST', data('a'), { data: { k: 'v2' } });
      const latest = await call('GET', data('a'));
      expect(latest.body.data).toMatchObject({ data: { k: 'v2' }, metadata: { version: 2 } });
      expect((await call('GET', `${data('a')}?version=1`)).body.data.data).toEqual({ k: 'v1' });
    });

    it('applies cas: 0 creates only, a stale version is refused with 400', async () => {
      expect((await call('POST', data('c'), { data: { k: 1 }, options: { cas: 0 } })).status).toBe(200);
      const again = await call('POST', data('c'), { data: { k: 2 }, options: { cas: 0 } });
      expect(again.status).toBe(400);
      expect(again.body.errors[0]).toContain('check-and-set parameter did not match the current version');
      expect((await call('POST', data('c'), { data: { k: 2 }, options: { cas: 1 } })).status).toBe(200);
    });

    it('soft-deletes the latest version (404 with metadata) and deletes everything through metadata', async () => {
      await call('POST', data('d'), { data: { k: 1 } });
      expect((await call('DELETE', data('d'))).status).toBe(204);
      const soft = await call('GET', data('d'));
      expect(soft.status).toBe(404);
      expect(soft.body.data).toMatchObject({ data: null, metadata: { version: 1, destroyed: false } });
      expect((await call('GET', meta('d'))).body.data).toMatchObject({ current_version: 1 });
      expect((await call('DELETE', meta('d'))).status).toBe(204);
      expect((await call('GET', meta('d'))).status).toBe(404);
      expect((await call('POST', data('d'), { data: { k: 1 }, options: { cas: 0 } })).status).toBe(200);
    });

    it('lists one level of children with ?list=true, 404 when empty', async () => {
      await call('POST', data('l/x'), { data: { k: 1 } });
      await call('POST', data('l/y/z'), { data: { k: 1 } });
      const res = await call('GET', `${meta('l/')}?list=true`);
      expect(res.body.data.keys).toEqual(['x', 'y/']);
      expect((await call('GET', `${meta('none/')}?list=true`)).status).toBe(404);
    });

    it('looks up its own token', async () => {
      const res = await call('GET', 'auth/token/lookup-self');
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ policies: expect.any(Array), ttl: expect.any(Number), renewable: expect.any(Boolean) });
    });
  });
}

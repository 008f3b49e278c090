import Table from 'cli-table3';
import { KeyService } from '../auth/key-service.js';
import type { KeyInfo } from '../auth/principal.js';
import { ConfigError, loadConfig, type LoadConfigOptions } from '../config/load.js';
import { buildStateStore } from '../deps.js';
import { isAppError } from '../shared/errors.js';

export type KeysAction =
  | { kind: 'create'; opts: { name: string; role: 'user' | 'admin'; json?: boolean; allowLocalSource?: boolean } }
  | { kind: 'list'; opts: { json?: boolean; workers?: boolean } }
  | { kind: 'revoke'; opts: Record<string, unknown>; target: string };

/**
 * `gantry keys …`: operates on the configured StateStore directly, so it works whether or not the server
 * is running (SQLite in WAL mode takes a second writer; the server reads keys on every request, so a
 * revocation takes effect at once).
 */
export async function runKeysCommand(load: LoadConfigOptions, action: KeysAction): Promise<void> {
  try {
    const state = buildStateStore(loadConfig(load));
    try {
      process.stdout.write(await perform(new KeyService(state), action));
    } finally {
      await state.close();
    }
  } catch (err) {
    if (!(err instanceof ConfigError) && !isAppError(err)) throw err;
    process.stderr.write(`gantry: ${err.message}\n`);
    process.exitCode = err instanceof ConfigError ? 2 : 1;
  }
}

async function perform(keys: KeyService, action: KeysAction): Promise<string> {
  switch (action.kind) {
    case 'create': {
      const { name, role, allowLocalSource } = action.opts;
      const { key, info } = await keys.createKey(name, role, { allowLocalSource: allowLocalSource === true });
      if (action.opts.json) return JSON.stringify({ ...info, key }, null, 2) + '\n';
      const may = info.allow_local_source ? ' It may run local project directories (x_gantry_source).' : '';
      return `Created ${info.role} key "${info.name}" (id ${info.id}):\n\n  ${key}\n\nIt is shown only this once.${may}\n`;
    }
    case 'list': {
      const all = (await keys.list()).filter((k) => action.opts.workers || k.role !== 'worker');
      return action.opts.json ? JSON.stringify(all, null, 2) + '\n' : keyTable(all);
    }
    case 'revoke': {
      const info = await keys.revoke(action.target);
      return `Revoked ${info.role} key "${info.name}" (id ${info.id})\n`;
    }
  }
}

function keyTable(keys: KeyInfo[]): string {
  if (keys.length === 0) return 'No keys.\n';
  const table = new Table({ head: ['ID', 'Name', 'Role', 'Local source', 'Deployment', 'Created'] });
  for (const k of keys) table.push([k.id, k.name, k.role, localSourceColumn(k), k.deployment_id ?? '', k.created_at]);
  return table.toString() + '\n';
}

/** Who may name a local project directory: every admin key, and user keys made with --allow-local-source. */
function localSourceColumn(k: KeyInfo): string {
  if (k.role === 'admin') return 'yes (admin)';
  return k.allow_local_source ? 'yes' : '';
}

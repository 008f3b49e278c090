import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import type { KeyService } from '../auth/key-service.js';

export type AdminKeyOutcome =
  | { kind: 'configured' }
  | { kind: 'created'; key: string; file: string }
  | { kind: 'existing'; file: string | undefined };

/**
 * Makes sure an admin key exists. `GANTRY_ADMIN_KEY` is adopted as given (for automation); otherwise the
 * first start creates one, writes it to `file` (mode 0600) and hands it back to be printed once.
 */
export async function ensureAdminKey(keys: KeyService, configured: string | undefined, file: string): Promise<AdminKeyOutcome> {
  if (configured) {
    await keys.adoptAdminKey(configured);
    return { kind: 'configured' };
  }
  if (await keys.hasAdminKey()) return { kind: 'existing', file: existsSync(file) ? file : undefined };
  const { key } = await keys.createKey('admin', 'admin');
  writeFileSync(file, key + '\n', { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its mode through writeFileSync
  return { kind: 'created', key, file };
}

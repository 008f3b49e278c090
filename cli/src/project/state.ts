import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { JigError } from '../errors.js';
import { asTable } from './config-schema.js';

/**
 * `.jig.json` beside the config file (compat.md §1.2): one entry per deployment name, so several projects
 * can share a directory. The legacy flat form (top-level `secrets`) is read and migrated on save.
 */
export class ProjectState {
  registryBasePath = '';
  secrets: Record<string, string> = {};
  /** Whether the file had `secrets` for this project; if not, they are synced from the deployment first. */
  secretsInitialized = false;

  private constructor(
    private readonly file: string,
    private readonly name: string,
  ) {}

  static load(configPath: string, name: string): ProjectState {
    const state = new ProjectState(path.join(path.dirname(configPath), '.jig.json'), name);
    const all = readAll(state.file);
    const entry = asTable(all[name]) ?? ('secrets' in all ? all : undefined);
    if (entry) {
      state.registryBasePath = typeof entry.registry_base_path === 'string' && entry !== all ? entry.registry_base_path : '';
      state.secrets = stringTable(entry.secrets);
      state.secretsInitialized = 'secrets' in entry;
    }
    return state;
  }

  save(): void {
    const all = readAll(this.file);
    if (!asTable(all[this.name]) && 'secrets' in all) delete all.secrets;
    all[this.name] = { registry_base_path: this.registryBasePath, secrets: this.secrets };
    writeFileSync(this.file, JSON.stringify(all, null, 2));
  }
}

function readAll(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  try {
    return asTable(JSON.parse(readFileSync(file, 'utf8'))) ?? {};
  } catch {
    throw new JigError(`Invalid ${file}: not a JSON object (remove it to start afresh)`);
  }
}

function stringTable(value: unknown): Record<string, string> {
  const table = asTable(value) ?? {};
  return Object.fromEntries(Object.entries(table).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

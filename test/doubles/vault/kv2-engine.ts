/**
 * A KV v2 secrets engine (hashicorp.md §4.2; OpenBao `builtin/logical/kv/path_data.go`, `path_metadata.go`):
 * versions kept up to `max_versions` (default 10), `cas` on write (0: create only), `cas_required`,
 * soft delete (latest or listed versions), undelete, destroy, full delete through metadata, and a LIST of
 * one level of children.
 */

export interface Version {
  data: Record<string, unknown> | null;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export interface SecretEntry {
  versions: Map<number, Version>;
  current_version: number;
  oldest_version: number;
  max_versions: number;
  cas_required: boolean;
  custom_metadata: Record<string, string> | null;
  created_time: string;
  updated_time: string;
}

/** An error Vault answers as `{"errors":[message]}` with `status`. */
export class VaultError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_MAX_VERSIONS = 10;

export class Kv2Engine {
  readonly secrets = new Map<string, SecretEntry>();

  write(path: string, body: { data?: unknown; options?: { cas?: unknown } }): Record<string, unknown> {
    if (!body.data || typeof body.data !== 'object' || Array.isArray(body.data)) throw new VaultError(400, 'no data provided');
    const entry = this.secrets.get(path);
    const cas = body.options?.cas;
    if (cas === undefined && entry?.cas_required) throw new VaultError(400, 'check-and-set parameter required for this call');
    if (cas !== undefined && Number(cas) !== (entry?.current_version ?? 0)) {
      throw new VaultError(400, 'check-and-set parameter did not match the current version');
    }
    const now = new Date().toISOString();
    const next = entry ?? this.fresh(now);
    next.current_version += 1;
    next.updated_time = now;
    next.versions.set(next.current_version, { data: body.data as Record<string, unknown>, created_time: now, deletion_time: '', destroyed: false });
    this.trim(next);
    this.secrets.set(path, next);
    return versionJson(next, next.current_version);
  }

  /** The version's data and metadata; `deleted` when soft-deleted or destroyed (Vault's 404 with body). */
  read(path: string, version?: number): { data: Record<string, unknown> | null; metadata: Record<string, unknown>; deleted: boolean } | undefined {
    const entry = this.secrets.get(path);
    const n = version || entry?.current_version || 0;
    const v = entry?.versions.get(n);
    if (!entry || !v) return undefined;
    const deleted = v.destroyed || v.deletion_time !== '';
    return { data: deleted ? null : v.data, metadata: versionJson(entry, n), deleted };
  }

  softDelete(path: string, versions?: number[]): void {
    const entry = this.secrets.get(path);
    if (!entry) return;
    const now = new Date().toISOString();
    for (const n of versions ?? [entry.current_version]) {
      const v = entry.versions.get(n);
      if (v && !v.destroyed && v.deletion_time === '') v.deletion_time = now;
    }
  }

  undelete(path: string, versions: number[]): void {
    for (const n of versions) {
      const v = this.secrets.get(path)?.versions.get(n);
      if (v && !v.destroyed) v.deletion_time = '';
    }
  }

  destroy(path: string, versions: number[]): void {
    for (const n of versions) {
      const v = this.secrets.get(path)?.versions.get(n);
      if (v) Object.assign(v, { destroyed: true, data: null });
    }
  }

  metadata(path: string): Record<string, unknown> | undefined {
    const entry = this.secrets.get(path);
    if (!entry) return undefined;
    const versions = Object.fromEntries([...entry.versions].map(([n, v]) => [String(n), { created_time: v.created_time, deletion_time: v.deletion_time, destroyed: v.destroyed }]));
    const { versions: _v, ...rest } = entry;
    return { ...rest, delete_version_after: '0s', versions };
  }

  writeMetadata(path: string, body: Record<string, unknown>): void {
    const entry = this.secrets.get(path) ?? this.fresh(new Date().toISOString());
    if (body.max_versions !== undefined) entry.max_versions = Number(body.max_versions);
    if (body.cas_required !== undefined) entry.cas_required = Boolean(body.cas_required);
    if (body.custom_metadata !== undefined) entry.custom_metadata = body.custom_metadata as Record<string, string>;
    this.secrets.set(path, entry);
  }

  deleteAll(path: string): void {
    this.secrets.delete(path);
  }

  /** One level of children of `prefix` (sub-folders end in `/`), sorted; empty when none. */
  list(prefix: string): string[] {
    const base = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    const keys = new Set<string>();
    for (const path of this.secrets.keys()) {
      if (!path.startsWith(base)) continue;
      const rest = path.slice(base.length);
      const slash = rest.indexOf('/');
      keys.add(slash === -1 ? rest : rest.slice(0, slash + 1));
    }
    return [...keys].sort();
  }

  private fresh(now: string): SecretEntry {
    return { versions: new Map(), current_version: 0, oldest_version: 0, max_versions: 0, cas_required: false, custom_metadata: null, created_time: now, updated_time: now };
  }

  private trim(entry: SecretEntry): void {
    const max = entry.max_versions || DEFAULT_MAX_VERSIONS;
    for (const n of [...entry.versions.keys()].sort((a, b) => a - b)) {
      if (entry.versions.size <= max) break;
      entry.versions.delete(n);
    }
    entry.oldest_version = Math.min(...entry.versions.keys());
  }
}

function versionJson(entry: SecretEntry, n: number): Record<string, unknown> {
  const v = entry.versions.get(n)!;
  return { created_time: v.created_time, custom_metadata: entry.custom_metadata, deletion_time: v.deletion_time, destroyed: v.destroyed, version: n };
}

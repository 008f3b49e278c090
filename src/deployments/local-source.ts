import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { split as shellSplit } from 'shlex';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { LocalSource } from '../scheduler/scheduler.js';
import { appError } from '../shared/errors.js';
import { confinedFile, realPathOf } from './source-access.js';
import type { SourceRef } from './types.js';

/** `[tool.jig.image].cmd` when the config is silent (compat.md §2.2). */
const DEFAULT_CMD = 'python app.py';

/**
 * Turns `x_gantry_source` into what the LocalScheduler runs: the directory, the command (shell-split as
 * Jig does), and for Python projects their dependencies. Config discovery follows the CLI's order
 * (compat.md §1.1): the named file, else `jig.toml`, else `pyproject.toml` with a `[tool.jig]` table.
 * The directory is the real path the caller was allowed to name; every config file read must lie inside
 * it, also through symbolic links, so no file outside is ever parsed (or its parse error echoed).
 */
export function resolveLocalSource(ref: SourceRef): LocalSource {
  const dir = ref.real_path ?? realPathOf(ref.path) ?? ref.path;
  assertDirectory(dir, ref.path);
  const config = readJigConfig(dir, ref.config);
  const cmd = ref.cmd ?? stringAt(config.jig, ['image', 'cmd']) ?? DEFAULT_CMD;
  const pyproject = confinedFile(dir, 'pyproject.toml', 'x_gantry_source.path');
  return {
    path: dir,
    cmd: splitCommand(cmd, ref.cmd ? 'x_gantry_source.cmd' : 'x_gantry_source.config'),
    python: pyproject !== undefined,
    dependencies: pyproject ? projectDependencies(config.pyproject ?? readToml(pyproject)) : [],
  };
}

/** The command split as a shell would; an unbalanced quote or a trailing escape is the caller's 400. */
export function splitCommand(cmd: string, param: string): string[] {
  try {
    return shellSplit(cmd);
  } catch (err) {
    const where = param === 'x_gantry_source.cmd' ? param : `${param} ([tool.jig.image].cmd)`;
    throw appError('GANTRY_ERR_REQUEST_INVALID', `${where}: ${JSON.stringify(cmd)} cannot be split into arguments: ${(err as Error).message}`, {
      param,
      cause: err,
    });
  }
}

function assertDirectory(dir: string, asSent: string): void {
  const isDir = existsSync(dir) && statSync(dir).isDirectory();
  if (!isDir) {
    throw appError('GANTRY_ERR_REQUEST_INVALID', `x_gantry_source.path: ${asSent} is not a directory on the server's machine`, {
      param: 'x_gantry_source.path',
    });
  }
}

interface FoundConfig {
  jig: Record<string, unknown>;
  pyproject: Record<string, unknown> | undefined;
}

function readJigConfig(dir: string, named: string | undefined): FoundConfig {
  const candidates = named ? [named] : ['jig.toml', 'pyproject.toml'];
  const param = named ? 'x_gantry_source.config' : 'x_gantry_source.path';
  for (const name of candidates) {
    const file = confinedFile(dir, name, param);
    if (file === undefined) continue;
    const table = readToml(file);
    const isPyproject = path.basename(name) === 'pyproject.toml';
    const jig = isPyproject ? tableAt(table, ['tool', 'jig']) : table;
    if (jig) return { jig, pyproject: isPyproject ? table : undefined };
  }
  if (named) {
    throw appError('GANTRY_ERR_REQUEST_INVALID', `x_gantry_source.config: ${named} not found in ${dir}`, { param: 'x_gantry_source.config' });
  }
  return { jig: {}, pyproject: undefined };
}

function readToml(file: string): Record<string, unknown> {
  try {
    return parseToml(readFileSync(file, 'utf8'));
  } catch (err) {
    const where = err instanceof TomlError ? `:${err.line}:${err.column}` : '';
    throw appError('GANTRY_ERR_REQUEST_INVALID', `x_gantry_source: ${file}${where}: ${(err as Error).message.split('\n')[0]}`, {
      param: 'x_gantry_source',
    });
  }
}

function projectDependencies(pyproject: Record<string, unknown>): string[] {
  const deps = tableAt(pyproject, ['project'])?.dependencies;
  return Array.isArray(deps) ? deps.filter((d): d is string => typeof d === 'string') : [];
}

function tableAt(table: Record<string, unknown>, keys: string[]): Record<string, unknown> | undefined {
  let node: unknown = table;
  for (const key of keys) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'object' && node !== null && !Array.isArray(node) ? (node as Record<string, unknown>) : undefined;
}

function stringAt(table: Record<string, unknown>, keys: string[]): string | undefined {
  const parent = tableAt(table, keys.slice(0, -1));
  const value = parent?.[keys[keys.length - 1]!];
  return typeof value === 'string' ? value : undefined;
}

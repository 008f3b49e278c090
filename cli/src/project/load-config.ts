import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { JigError } from '../errors.js';
import { glyph } from '../output.js';
import { asTable, jigTableSchema, unknownKeys, type DeployConfig, type ImageConfig } from './config-schema.js';
import { resolveName } from './name.js';
import { lineOfKey } from './toml-lines.js';

/** A project's resolved configuration: defaults applied, deprecated forms folded in, name resolved. */
export interface JigConfig {
  /** Absolute path of the config file; `.jig.json` lives beside it. */
  path: string;
  /** The deployment (and queue) name. */
  name: string;
  /** What to tell the user when the name is taken. */
  uniqueNameHint: string;
  image: ImageConfig;
  deploy: DeployConfig;
}

export type Warn = (line: string) => void;

/**
 * Config discovery (compat.md §1.1): an explicit path, else `./jig.toml`, else `./pyproject.toml` when it
 * has a `[tool.jig]` table. Relative to the working directory, as the original.
 */
export function findConfigFile(cwd: string, explicit: string | undefined): string {
  if (explicit) {
    const file = path.resolve(cwd, explicit);
    if (!existsSync(file)) throw new JigError(`Configuration file not found: ${explicit}`);
    return file;
  }
  const jigToml = path.join(cwd, 'jig.toml');
  if (existsSync(jigToml)) return jigToml;
  const pyproject = path.join(cwd, 'pyproject.toml');
  if (existsSync(pyproject) && asTable(asTable(readToml(pyproject, cwd).tool)?.jig)) return pyproject;
  throw new JigError('No pyproject.toml or jig.toml found, use --config to specify a config path');
}

export function loadConfig(cwd: string, explicit: string | undefined, warn: Warn): JigConfig {
  const file = findConfigFile(cwd, explicit);
  return parseConfig(file, readFileSync(file, 'utf8'), warn, cwd);
}

/** Parses and validates one config file's text. Pure apart from `warn`. */
export function parseConfig(file: string, text: string, warn: Warn, cwd = path.dirname(file)): JigConfig {
  const shown = displayPath(file, cwd);
  const root = parseText(text, shown);
  const isPyproject = path.basename(file).endsWith('pyproject.toml');
  const prefix = isPyproject ? ['tool', 'jig'] : [];
  const jig = { ...(isPyproject ? (asTable(asTable(root.tool)?.jig) ?? {}) : root) };
  warnUnknown(jig, prefix, text, shown, warn);
  const normalized = foldDeprecated(jig, warn);
  const parsed = jigTableSchema.safeParse(normalized);
  if (!parsed.success) throw new JigError(describeIssues(parsed.error.issues, normalized, prefix, text, shown));
  const { name, hint } = resolveName({ file, shown, jigName: parsed.data.name, project: isPyproject ? asTable(root.project) : undefined }, warn);
  const deploy = parsed.data.deploy;
  if (Object.keys(deploy.autoscaling).length > 0) deploy.autoscaling = { ...deploy.autoscaling, model: name };
  return { path: file, name, uniqueNameHint: hint, image: parsed.data.image, deploy };
}

function readToml(file: string, cwd: string): Record<string, unknown> {
  return parseText(readFileSync(file, 'utf8'), displayPath(file, cwd));
}

function parseText(text: string, shown: string): Record<string, unknown> {
  try {
    return parseToml(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const reason = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
    throw new JigError(`Invalid ${shown}:${err.line}:${err.column}: ${reason}`);
  }
}

function displayPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') ? rel : file;
}

/**
 * `[tool.jig.volume_mounts]`/`[tool.jig.autoscaling]` replace their `deploy` counterparts with a warning,
 * and the old `profile`/`targetValue` autoscaling keys become `metric`/`target` (compat.md §2.1, §2.3).
 */
function foldDeprecated(jig: Record<string, unknown>, warn: Warn): Record<string, unknown> {
  const deploy = { ...(asTable(jig.deploy) ?? {}) };
  for (const key of ['volume_mounts', 'autoscaling']) {
    if (!(key in jig)) continue;
    warn(`${glyph.warn} [tool.jig.${key}] is deprecated, use [tool.jig.deploy.${key}] instead`);
    deploy[key] = jig[key];
  }
  const autoscaling = asTable(deploy.autoscaling);
  if (autoscaling && ('profile' in autoscaling || 'targetValue' in autoscaling)) deploy.autoscaling = foldProfile(autoscaling, warn);
  return { ...jig, ...(jig.deploy !== undefined || Object.keys(deploy).length ? { deploy } : {}) };
}

function foldProfile(autoscaling: Record<string, unknown>, warn: Warn): Record<string, unknown> {
  warn(`${glyph.warn} autoscaling "profile"/"targetValue" are the old form, use "metric"/"target" instead`);
  const { profile, targetValue, ...rest } = autoscaling;
  const target = typeof targetValue === 'string' && targetValue.trim() !== '' ? Number(targetValue) : targetValue;
  return {
    ...(profile !== undefined && rest.metric === undefined ? { metric: profile } : {}),
    ...(targetValue !== undefined && rest.target === undefined ? { target } : {}),
    ...rest,
  };
}

function warnUnknown(jig: Record<string, unknown>, prefix: string[], text: string, shown: string, warn: Warn): void {
  for (const key of unknownKeys(jig)) {
    const full = [...prefix, ...key];
    const line = lineOfKey(text, full);
    warn(`${glyph.warn} Unknown key ${dotted(full)} in ${shown}${line ? `:${line}` : ''} (ignored)`);
  }
}

function describeIssues(issues: z.core.$ZodIssue[], data: unknown, prefix: string[], text: string, shown: string): string {
  const parts = issues.map((issue) => {
    const keyPath = [...prefix, ...issue.path.map(String)];
    const line = lineOfKey(text, keyPath);
    return `${line ? `${shown}:${line}: ` : ''}${dotted(keyPath)}: ${expectation(issue, valueAt(data, issue.path))}`;
  });
  const where = parts.every((p) => p.startsWith(`${shown}:`)) ? '' : `${shown}: `;
  return `Invalid ${where}${parts.join('; ')}`;
}

function expectation(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.message === 'required key is missing') return issue.message;
  const got = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
  return issue.message.startsWith('expected ') ? `${issue.message}, got ${got}` : `${issue.message} (got ${got})`;
}

function valueAt(data: unknown, keys: PropertyKey[]): unknown {
  let node = data;
  for (const key of keys) node = (node as Record<PropertyKey, unknown> | undefined)?.[key];
  return node;
}

function dotted(keys: string[]): string {
  return keys.map((k, i) => (/^\d+$/.test(k) ? `[${k}]` : `${i ? '.' : ''}${/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k)}`)).join('');
}

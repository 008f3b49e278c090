import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { Principal } from '../auth/principal.js';
import { appError } from '../shared/errors.js';

/**
 * Who may name a local project directory (`x_gantry_source.path`), whose command then runs on the
 * server's machine (README, "Trust model"):
 * - the admin key, anywhere: it is the person who started the server, and `jig deploy` runs from any
 *   project directory;
 * - a user key made with `gantry keys create --allow-local-source`, anywhere;
 * - any other user key only inside an operator-allowed root (GANTRY_SOURCE_ROOTS; none by default);
 * - a worker token never.
 * Paths are compared after realpath, so neither `..` nor a symbolic link leads out of a root. A path that
 * does not exist is compared as written (normalised), so a refusal says nothing about what exists outside.
 */
export interface SourceCaller {
  kind: 'admin' | 'user' | 'worker';
  allowLocalSource: boolean;
}

export function sourceCallerOf(principal: Principal | undefined): SourceCaller {
  if (!principal || principal.kind === 'worker') return { kind: 'worker', allowLocalSource: false };
  if (principal.role === 'admin') return { kind: 'admin', allowLocalSource: true };
  return { kind: 'user', allowLocalSource: principal.allowLocalSource === true };
}

/** The real path of `p`, or undefined when it does not exist (or cannot be resolved). */
export function realPathOf(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

/** Whether `p` is `dir` or lies below it (both absolute, normalised). */
export function isInside(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Refuses (403) a caller that may not name `sourcePath`; the message names the setting that would allow it. */
export function assertMayNameSource(caller: SourceCaller, sourcePath: string, roots: readonly string[]): void {
  if (caller.kind === 'admin' || caller.allowLocalSource) return;
  if (caller.kind === 'worker') throw forbidden('a worker token may not name a local project directory (x_gantry_source)');
  const real = realPathOf(sourcePath) ?? path.resolve(sourcePath);
  const allowed = roots.map((r) => realPathOf(r)).filter((r): r is string => r !== undefined);
  if (allowed.some((root) => isInside(real, root))) return;
  const where = allowed.length === 0 ? 'no GANTRY_SOURCE_ROOTS are set' : 'it is outside GANTRY_SOURCE_ROOTS';
  throw forbidden(
    `x_gantry_source.path: this API key may not run a local project directory (${where}); the operator can allow ` +
      'it by adding a root that holds the directory to GANTRY_SOURCE_ROOTS, or by making the key with ' +
      '`gantry keys create --allow-local-source`; the admin key may always',
  );
}

function forbidden(message: string) {
  return appError('GANTRY_ERR_SOURCE_FORBIDDEN', message, { param: 'x_gantry_source.path' });
}

/**
 * The file a config name points at, confined to the project directory `dir` (a real path): a name that
 * leads outside it, as written or through a symbolic link, is refused (400) before the file is opened,
 * and the refusal does not say whether the file exists. Undefined when the file does not exist inside.
 */
export function confinedFile(dir: string, name: string, param: string): string | undefined {
  const lexical = path.resolve(dir, name);
  const outside = () =>
    appError('GANTRY_ERR_REQUEST_INVALID', `${param}: must name a file inside the project directory ${dir}`, { param });
  if (!isInside(lexical, dir)) throw outside();
  const real = realPathOf(lexical);
  if (real !== undefined && !isInside(real, dir)) throw outside();
  return real;
}

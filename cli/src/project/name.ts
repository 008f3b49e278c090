import path from 'node:path';
import { glyph } from '../output.js';

export interface NameSources {
  file: string;
  /** The file as shown to the user. */
  shown: string;
  jigName: string | undefined;
  /** `[project]` of a pyproject.toml; undefined for jig.toml. */
  project: Record<string, unknown> | undefined;
}

/**
 * The deployment name (compat-source.md §B.3): `name`, then (pyproject only) `project.name`, then the
 * config directory's name with a warning; plus the hint shown when the name is taken.
 */
export function resolveName(src: NameSources, warn: (line: string) => void): { name: string; hint: string } {
  const isPyproject = src.project !== undefined || path.basename(src.file).endsWith('pyproject.toml');
  if (src.jigName) return { name: src.jigName, hint: isPyproject ? 'update `name` in your pyproject.toml' : `update \`name\` in ${src.shown}` };
  const projectName = src.project?.name;
  if (isPyproject && typeof projectName === 'string' && projectName) {
    return { name: projectName, hint: 'update `project.name` in your pyproject.toml' };
  }
  const dir = path.basename(path.dirname(path.resolve(src.file)));
  warn(`${glyph.warn} Name not set in ${src.shown} - defaulting to ${dir}`);
  const hint = isPyproject ? 'rename your folder or add `project.name` to your pyproject.toml' : `rename your folder or add \`name\` to ${src.shown}`;
  return { name: dir, hint };
}

import type { z } from 'zod';
import { appError } from '../../shared/errors.js';

/**
 * Parses input at the edge. Every problem is reported, each with its dotted path, and `param` names the
 * first one (STYLE rule 5). Code below the edge receives the parsed type and never re-checks it.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ path: dotted(issue.path), message: issue.message }));
  const text = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : `${where}: ${i.message}`)).join('; ');
  throw appError('GANTRY_ERR_REQUEST_INVALID', text, { param: issues[0]?.path || undefined });
}

function dotted(path: PropertyKey[]): string {
  return path.map(String).join('.');
}

import { JigError } from '../errors.js';

/** `-c/--config` on every project command (compat.md §1.1); it may also come before the command. */
export const CONFIG_OPTION = ['-c, --config <path>', 'config file (default: ./jig.toml, else ./pyproject.toml)'] as const;

/** A value given by flag or positionally, as cyclopts allows both (`secrets set HF_TOKEN "$HF_TOKEN"`). */
export function required(value: string | undefined, flag: string): string {
  if (!value) throw new JigError(`Missing option ${flag}`);
  return value;
}

import type { CliContext } from '../context.js';
import { isNotFound } from '../errors.js';
import { glyph } from '../output.js';

/** `<deployment>-<NAME>`: secrets are project-wide, Jig scopes them by prefix (compat.md §5.2). */
export function scopedName(ctx: CliContext, name: string): string {
  return `${ctx.project().name}-${name}`;
}

/**
 * On a fresh checkout (no `secrets` in `.jig.json`), copy the deployment's secret references into the
 * state so the next deploy does not drop them; after that the state is authoritative (compat.md §1.2).
 */
export async function syncSecrets(ctx: CliContext): Promise<void> {
  const { state, name } = ctx.project();
  if (state.secretsInitialized) return;
  try {
    const deployment = await ctx.api().deployments.get(name);
    for (const v of deployment.environment_variables ?? []) if (v.value_from_secret) state.secrets[v.name] ??= v.value_from_secret;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  state.secretsInitialized = true;
  state.save();
}

/** Create or update `<deployment>-<NAME>` and record it (compat-source.md §B.10). */
export async function setSecret(ctx: CliContext, name: string, value: string, description: string): Promise<void> {
  await syncSecrets(ctx);
  const scoped = scopedName(ctx, name);
  const api = ctx.api().secrets;
  try {
    await api.update(scoped, { name: scoped, description, value });
    ctx.out.out(`${glyph.check} Updated secret ${name}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await api.create({ name: scoped, value, description });
    ctx.out.out(`${glyph.check} Created secret ${name}`);
  }
  const { state } = ctx.project();
  state.secrets[name] = scoped;
  state.save();
}

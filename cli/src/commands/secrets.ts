import type { Command } from 'commander';
import { json, glyph } from '../output.js';
import type { CliContext } from '../context.js';
import { isNotFound } from '../errors.js';
import { scopedName, setSecret, syncSecrets } from '../project/secrets-flow.js';
import { action, type CliIo } from '../run.js';
import { CONFIG_OPTION, required } from './options.js';

interface NameOptions {
  name?: string;
}

/** `jig secrets set|unset|delete|list` (compat.md §1.4). Names may also be given positionally, as cyclopts allows. */
export function registerSecrets(program: Command, io: CliIo): void {
  const secrets = program.command('secrets').description('Manage the deployment\'s secrets');
  secrets
    .command('set')
    .description('Create or update a secret; it takes effect on the next deploy')
    .argument('[name]')
    .argument('[value]')
    .option('--name <name>', 'environment variable name')
    .option('--value <value>', 'secret value')
    .option('--description <text>', 'description', '')
    .option(...CONFIG_OPTION)
    .action(action<NameOptions & { value?: string; description: string }>(io, async (ctx, o, args) => {
      const name = required(o.name ?? args[0], '--name');
      await setSecret(ctx, name, required(o.value ?? args[1], '--value'), o.description);
    }));
  secrets
    .command('unset')
    .description('Stop attaching a secret on deploy (the secret itself is kept)')
    .argument('[name]')
    .option('--name <name>', 'environment variable name')
    .option(...CONFIG_OPTION)
    .action(action<NameOptions>(io, (ctx, o, args) => unset(ctx, required(o.name ?? args[0], '--name'))));
  secrets
    .command('delete')
    .description('Delete a secret')
    .argument('[name]')
    .option('--name <name>', 'environment variable name')
    .option(...CONFIG_OPTION)
    .action(action<NameOptions>(io, (ctx, o, args) => remove(ctx, required(o.name ?? args[0], '--name'))));
  secrets
    .command('list')
    .alias('ls')
    .description("List the deployment's secrets")
    .option(...CONFIG_OPTION)
    .option('--json', 'raw JSON')
    .action(action(io, (ctx) => list(ctx)));
}

async function unset(ctx: CliContext, name: string): Promise<void> {
  await syncSecrets(ctx);
  const { state } = ctx.project();
  if (!(name in state.secrets)) return ctx.out.out(`${glyph.cross} Secret ${name} is not set`);
  delete state.secrets[name];
  state.save();
  ctx.out.out(`${glyph.check} Removed secret ${name} from the deployment`);
}

async function remove(ctx: CliContext, name: string): Promise<void> {
  try {
    await ctx.api().secrets.delete(scopedName(ctx, name));
    ctx.out.out(`${glyph.check} Deleted secret ${name}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    ctx.out.out(`${glyph.cross} Secret ${name} not found`);
  }
  const { state } = ctx.project();
  if (name in state.secrets) {
    delete state.secrets[name];
    state.save();
  }
}

async function list(ctx: CliContext): Promise<void> {
  const remote = await ctx.api().secrets.list();
  if (ctx.json) return ctx.out.out(json(remote));
  const { state, name } = ctx.project();
  const prefix = `${name}-`;
  const remoteNames = new Set((remote.data ?? []).map((s) => s.name ?? '').filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length)));
  const all = [...new Set([...Object.keys(state.secrets), ...remoteNames])].sort();
  if (!all.length) return ctx.out.out(`${glyph.info} No secrets configured for deployment ${name}`);
  ctx.out.out(`${glyph.info} Secrets for deployment ${name}:`);
  for (const key of all) {
    const where = key in state.secrets ? (remoteNames.has(key) ? 'synced' : 'local only') : 'remote only';
    ctx.out.out(`  - ${key} [${where}]`);
  }
}

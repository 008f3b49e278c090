import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatStatus } from '../deploy/status-text.js';
import { glyph, json } from '../output.js';
import { action, type CliIo } from '../run.js';
import { CONFIG_OPTION } from './options.js';
import { interruptible } from './interrupt.js';


/** `status`, `list`/`ls`, `logs`, `endpoint`, `destroy` (compat.md §1.4). */
export function registerQueries(program: Command, io: CliIo): void {
  program.command('status').description('Show the deployment').option(...CONFIG_OPTION).option('--json', 'raw JSON')
    .action(action(io, status));
  program.command('list').alias('ls').description('List all deployments (raw JSON)').option(...CONFIG_OPTION)
    .action(action(io, async (ctx) => ctx.out.out(json(await ctx.api().deployments.list()))));
  program.command('logs').description('Print the deployment\'s logs').option('--follow', 'keep streaming new lines').option(...CONFIG_OPTION)
    .action(action<{ follow?: boolean }>(io, (ctx, o) => (o.follow ? followLogs(ctx) : logs(ctx))));
  program.command('endpoint').description('Print the URL for direct HTTP requests to the deployment').option(...CONFIG_OPTION)
    .action(action(io, async (ctx) => ctx.out.out(`${ctx.env.baseUrl}/deployment-request/${ctx.project().name}`)));
  program.command('destroy').description('Delete the deployment (secrets and volumes are kept)').option(...CONFIG_OPTION)
    .action(action(io, destroy));
}

async function status(ctx: CliContext): Promise<void> {
  const { name, state } = ctx.project();
  const deployment = await ctx.api().deployments.get(name);
  if (ctx.json) return ctx.out.out(json(deployment));
  const prefix = state.registryBasePath ? `${state.registryBasePath}/` : '';
  ctx.out.out(formatStatus(deployment, Date.now(), prefix).trimEnd());
}

async function logs(ctx: CliContext): Promise<void> {
  const { lines } = await ctx.api().deployments.logs(ctx.project().name);
  ctx.out.out((lines ?? []).join('\n') || 'No logs available');
}

async function followLogs(ctx: CliContext): Promise<void> {
  const abort = new AbortController();
  const stream = ctx.api().deployments.followLogs(ctx.project().name, (lines) => lines.length && ctx.out.out(lines.join('\n')), abort.signal);
  try {
    await interruptible(stream, () => {
      abort.abort();
      ctx.out.out('\nStopped following logs');
    });
  } catch (err) {
    // Ctrl-C ends following normally (exit 0), as the original's KeyboardInterrupt handler does.
    if (!abort.signal.aborted) ctx.out.out(`\nConnection ended: ${(err as Error).message}`);
  }
}

async function destroy(ctx: CliContext): Promise<void> {
  const { name } = ctx.project();
  await ctx.api().deployments.destroy(name);
  ctx.out.out(`${glyph.trash} Destroyed ${name}`);
}

import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { JigError } from '../errors.js';
import { glyph, json } from '../output.js';
import { action, type CliIo } from '../run.js';
import { CONFIG_OPTION } from './options.js';
import { interruptible } from './interrupt.js';

const DONE = ['done', 'finished'];
const FAILED = ['failed', 'error', 'canceled'];

interface SubmitOptions {
  prompt?: string;
  payload?: string;
  watch?: boolean;
}

/** `submit`, `job-status`, `queue-status`, `queue-clear` (compat.md §1.4, §8.29), with the old spellings. */
export function registerQueue(program: Command, io: CliIo, pollMs = 1000): void {
  program.command('submit').description('Submit a job to the deployment\'s queue')
    .option('--prompt <text>', 'payload {"prompt": <text>}').option('--payload <json>', 'payload as JSON')
    .option('--watch', 'wait for the job to finish').option(...CONFIG_OPTION)
    .action(action<SubmitOptions>(io, (ctx, o) => submit(ctx, o, pollMs)));
  program.command('job-status').alias('job_status').description('Print a job\'s status')
    .requiredOption('--request-id <id>', 'the job').option(...CONFIG_OPTION)
    .action(action<{ requestId: string }>(io, async (ctx, o) => ctx.out.out(json(await ctx.api().queue.status(ctx.project().name, o.requestId)))));
  program.command('queue-status').alias('queue_status').description('Print the queue\'s counts').option(...CONFIG_OPTION)
    .action(action(io, async (ctx) => ctx.out.out(json(await ctx.api().queue.metrics(ctx.project().name)))));
  program.command('queue-clear').alias('clear-queue').description('Cancel every pending job').option(...CONFIG_OPTION)
    .action(action(io, async (ctx) => ctx.out.out(json(await ctx.api().queue.clear(ctx.project().name)))));
}

function payloadOf(o: SubmitOptions): unknown {
  if (!o.prompt && !o.payload) throw new JigError('Either --prompt or --payload required');
  if (!o.payload) return { prompt: o.prompt };
  try {
    return JSON.parse(o.payload);
  } catch (err) {
    throw new JigError(`--payload is not valid JSON: ${(err as Error).message}`);
  }
}

async function submit(ctx: CliContext, o: SubmitOptions, pollMs: number): Promise<void> {
  const payload = payloadOf(o);
  const name = ctx.project().name;
  const raw = await ctx.api().queue.submit(name, payload, 1);
  ctx.out.out(`${glyph.check} Submitted job`);
  ctx.out.out(json(raw));
  const requestId = raw.requestId;
  if (!o.watch || !requestId) return;
  ctx.out.out(`\nWatching job ${requestId}...`);
  await interruptible(watch(ctx, name, requestId, raw.status, pollMs), () => ctx.out.out(`\nStopped watching ${requestId}`));
}

async function watch(ctx: CliContext, name: string, requestId: string, initial: unknown, pollMs: number): Promise<void> {
  let last = initial;
  for (;;) {
    const job = await ctx.api().queue.status(name, requestId);
    if (job.status !== last) ctx.out.out(json(job));
    last = job.status;
    if (DONE.includes(String(job.status))) return;
    if (FAILED.includes(String(job.status))) throw new JigError('', 1);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

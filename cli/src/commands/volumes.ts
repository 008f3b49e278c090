import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import Table from 'cli-table3';
import type { Command } from 'commander';
import type { Volume } from '../api/types.js';
import type { CliContext } from '../context.js';
import { ApiError, isNotFound, JigError } from '../errors.js';
import { glyph, json } from '../output.js';
import { action, type CliIo } from '../run.js';
import { CONFIG_OPTION, required } from './options.js';
import { progressLine } from '../volumes/progress.js';
import { uploadDirectory } from '../volumes/uploader.js';

const PAGE = 20;

interface VolumeOptions {
  name?: string;
  source?: string;
}

/** `jig volumes create|update|delete|describe|list` (compat.md §1.4, upload protocol §1.8). */
export function registerVolumes(program: Command, io: CliIo): void {
  const volumes = program.command('volumes').description('Manage read-only, versioned volumes');
  const named = (cmd: Command): Command => cmd.argument('[name]').option('--name <name>', 'volume name').option(...CONFIG_OPTION);
  named(volumes.command('create').description('Create a volume from a directory')).argument('[source]').option('--source <dir>', 'directory to upload')
    .action(action<VolumeOptions>(io, (ctx, o, args) => create(ctx, required(o.name ?? args[0], '--name'), required(o.source ?? args[1], '--source'))));
  named(volumes.command('update').description('Upload a new version of a volume')).argument('[source]').option('--source <dir>', 'directory to upload')
    .action(action<VolumeOptions>(io, (ctx, o, args) => update(ctx, required(o.name ?? args[0], '--name'), required(o.source ?? args[1], '--source'))));
  named(volumes.command('delete').description('Delete a volume'))
    .action(action<VolumeOptions>(io, (ctx, o, args) => remove(ctx, required(o.name ?? args[0], '--name'))));
  named(volumes.command('describe').aliases(['retrieve', 'get']).description('Print a volume as JSON')).option('--version <n>', 'a past version')
    .action(action<VolumeOptions & { version?: string }>(io, (ctx, o, args) => describe(ctx, required(o.name ?? args[0], '--name'), o.version)));
  volumes.command('list').alias('ls').description('List volumes').option('--after <id>', 'start after this volume id').option('--json', 'raw JSON').option(...CONFIG_OPTION)
    .action(action<{ after?: string }>(io, (ctx, o) => list(ctx, o.after)));
}

function assertDirectory(ctx: CliContext, source: string): string {
  const abs = path.resolve(ctx.cwd, source);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new JigError(`Not a directory: ${source}`);
  return abs;
}

async function upload(ctx: CliContext, source: string, prefix: string): Promise<void> {
  const progress = progressLine(ctx.out);
  const { uploadConcurrency: concurrency, multipartChunkBytes: chunkBytes, multipartThresholdBytes: thresholdBytes } = ctx.env;
  await uploadDirectory(ctx.api().storage, source, prefix, { concurrency, chunkBytes, thresholdBytes }, progress);
  progress.finish();
}

async function create(ctx: CliContext, name: string, source: string): Promise<void> {
  const dir = assertDirectory(ctx, source);
  const prefix = `${name}/0`;
  ctx.out.out(`${glyph.rocket} Creating volume ${name} with source prefix ${prefix}`);
  let volume: Volume;
  try {
    volume = await ctx.api().volumes.create(name, prefix);
  } catch (err) {
    if (err instanceof ApiError && err.message.includes('already exists')) throw new JigError(`Volume ${name} already exists, use 'jig volumes update' instead`);
    throw new JigError(`Failed to create volume: ${(err as Error).message}`);
  }
  ctx.out.out(`${glyph.check} Volume created: ${volume.id}`);
  try {
    await upload(ctx, dir, prefix);
  } catch (err) {
    ctx.out.out(`${glyph.cross} Upload failed: ${(err as Error).message}`);
    ctx.out.out(`${glyph.trash} Cleaning up volume ${name}`);
    await ctx.api().volumes.delete(name);
    throw new JigError('', 1);
  }
}

async function update(ctx: CliContext, name: string, source: string): Promise<void> {
  const dir = assertDirectory(ctx, source);
  const current = await ctx.api().volumes.get(name).catch((err: unknown) => {
    throw isNotFound(err) ? new JigError(`Volume ${name} not found`) : err;
  });
  const version = (current.current_version ?? 0) + 1;
  ctx.out.out(`${glyph.info} Uploading files for volume ${name}`);
  await upload(ctx, dir, `${name}/${version}`);
  ctx.out.out(`${glyph.info} Updating volume ${name}, version ${version} from ${source}`);
  await ctx.api().volumes.update(name, `${name}/${version}`);
  ctx.out.out(`${glyph.check} Volume updated successfully`);
}

async function remove(ctx: CliContext, name: string): Promise<void> {
  try {
    await ctx.api().volumes.delete(name);
  } catch (err) {
    throw isNotFound(err) ? new JigError(`Volume ${name} not found`) : err;
  }
  ctx.out.out(`${glyph.check} Deleted volume ${name}`);
}

async function describe(ctx: CliContext, name: string, version: string | undefined): Promise<void> {
  const n = version === undefined ? undefined : Number(version);
  if (n !== undefined && !Number.isInteger(n)) throw new JigError(`--version must be an integer, got ${version}`);
  try {
    ctx.out.out(json(await ctx.api().volumes.get(name, n)));
  } catch (err) {
    throw isNotFound(err) ? new JigError(`Volume ${name} not found`) : err;
  }
}

async function list(ctx: CliContext, after: string | undefined): Promise<void> {
  const answer = await ctx.api().volumes.list();
  if (ctx.json) return ctx.out.out(json(answer));
  const all = answer.data ?? [];
  const start = after ? all.findIndex((v) => v.id === after) + 1 : 0;
  const page = all.slice(start, start + PAGE);
  const table = new Table({ head: ['ID', 'Name', 'Created At', 'Updated At'], style: { head: [], border: [] } });
  for (const v of page) table.push([v.id ?? '', v.name ?? '', v.created_at ?? '', v.updated_at ?? '']);
  ctx.out.out(page.length ? table.toString() : 'No volumes');
  if (start + PAGE < all.length) ctx.out.out(`More volumes: jig volumes list --after ${page[page.length - 1]!.id}`);
}

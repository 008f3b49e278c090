import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildImage, pushImage } from '../deploy/image.js';
import { systemDocker } from '../docker/docker.js';
import { JigError } from '../errors.js';
import { glyph } from '../output.js';
import { ensureDockerfile } from '../project/dockerfile.js';
import { action, type CliIo } from '../run.js';
import { CONFIG_OPTION } from './options.js';


/** The starter project of `jig init` (compat.md §2.6). */
const STARTER = `[project]
name = "my-model"
version = "0.1.0"
dependencies = ["torch", "transformers", "sprocket"]

[[tool.uv.index]]
name = "together-pypi"
url = "https://pypi.together.ai/"

[tool.uv.sources]
sprocket = { index = "together-pypi" }

[tool.jig.image]
python_version = "3.11"
system_packages = ["git", "libglib2.0-0"]
cmd = "python app.py"

[tool.jig.deploy]
description = "My model deployment"
gpu_type = "h100-80gb"
gpu_count = 1
`;

/** `init`, `dockerfile`, `build`, `push` (compat.md §1.4). */
export function registerProjectCommands(program: Command, io: CliIo): void {
  program.command('init').description('Create a starter pyproject.toml').action(action(io, async (ctx) => {
    const file = path.join(ctx.cwd, 'pyproject.toml');
    if (existsSync(file)) return ctx.out.out('pyproject.toml already exists');
    writeFileSync(file, STARTER);
    ctx.out.out(`${glyph.check} Created pyproject.toml\n  Edit the configuration and run 'jig deploy'`);
  }));
  program.command('dockerfile').description('Generate or refresh the managed Dockerfile').option(...CONFIG_OPTION).action(action(io, async (ctx) => {
    const { config: cfg } = ctx.project();
    const outcome = ensureDockerfile(cfg, ctx.cwd, `${ctx.env.baseUrl}/sdk/python/`);
    const file = cfg.image.dockerfile_path;
    if (outcome === 'unmanaged') {
      throw new JigError(`${file} exists and is not managed by jig. Remove or rename the file to allow jig to manage dockerfile.`);
    }
    const said = { generated: `${glyph.check} Generated Dockerfile`, updated: `${glyph.check} Updated Dockerfile`, unchanged: `${glyph.info} ${file} is up to date` };
    ctx.out.out(said[outcome]);
  }));
  program.command('build').description('Build the container image').option('--tag <tag>', 'image tag', 'latest')
    .option('--warmup', 'bake a compile cache into the image').option('--docker-args <args>', 'extra docker build arguments').option(...CONFIG_OPTION)
    .action(action<{ tag: string; warmup?: boolean; dockerArgs?: string }>(io, async (ctx, o) => {
      await buildImage(ctx, systemDocker(io.env, ctx.cwd), o);
    }));
  program.command('push').description('Push the image to the registry').option('--tag <tag>', 'image tag', 'latest').option(...CONFIG_OPTION)
    .action(action<{ tag: string }>(io, async (ctx, o) => {
      await pushImage(ctx, systemDocker(io.env, ctx.cwd), o.tag);
    }));
}

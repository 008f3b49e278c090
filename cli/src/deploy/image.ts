import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { split as shellSplit } from 'shlex';
import type { CliContext } from '../context.js';
import type { Docker } from '../docker/docker.js';
import { JigError } from '../errors.js';
import { glyph } from '../output.js';
import { ensureDockerfile } from '../project/dockerfile.js';

/** Registry base path (`<host>/<namespace>`), cached in `.jig.json` (compat.md §1.3). */
export async function registry(ctx: CliContext): Promise<string> {
  const { state } = ctx.project();
  if (!state.registryBasePath) {
    const answer = await ctx.api().identity.basePath();
    state.registryBasePath = stripScheme(answer['base-path']);
    state.save();
  }
  return state.registryBasePath;
}

function stripScheme(basePath: string): string {
  return basePath.split('://').slice(-1)[0]!.replace(/\/+$/, '');
}

export async function imageRef(ctx: CliContext, tag: string): Promise<string> {
  return `${await registry(ctx)}/${ctx.project().name}:${tag}`;
}

export interface BuildOptions {
  tag: string;
  warmup?: boolean;
  dockerArgs?: string;
}

/** `jig build` (compat-source.md §B.7): refresh the managed Dockerfile, then `docker build`. */
export async function buildImage(ctx: CliContext, docker: Docker, options: BuildOptions): Promise<string> {
  const { config } = ctx.project();
  const image = await imageRef(ctx, options.tag);
  reportDockerfile(ctx, ensureDockerfile(config, ctx.cwd, `${ctx.env.baseUrl}/sdk/python/`));
  ctx.out.out(`Building ${image}`);
  const args = ['build', '--platform', 'linux/amd64', '-t', image, '.'];
  if (config.image.dockerfile_path !== 'Dockerfile') args.push('-f', config.image.dockerfile_path);
  const extra = options.dockerArgs || ctx.env.dockerBuildExtraArgs;
  if (extra) args.push(...shellSplit(extra));
  if ((await docker.run(args)) !== 0) throw new JigError('Build failed');
  ctx.out.out(`${glyph.check} Built`);
  if (options.warmup) await warmup(ctx, docker, image);
  return image;
}

function reportDockerfile(ctx: CliContext, outcome: ReturnType<typeof ensureDockerfile>): void {
  const path = ctx.project().config.image.dockerfile_path;
  if (outcome === 'generated') ctx.out.out(`${glyph.check} Generated Dockerfile`);
  if (outcome === 'updated') ctx.out.out(`${glyph.check} Updated Dockerfile`);
  if (outcome === 'unmanaged') ctx.out.out(`${glyph.info} Using existing ${path} (not managed by jig)`);
}

/**
 * `jig push`: log in only when the server says its registry takes Gantry keys (compat.md §8.9); otherwise
 * Docker's own credentials for the host are used.
 */
export async function pushImage(ctx: CliContext, docker: Docker, tag: string): Promise<string> {
  const image = await imageRef(ctx, tag);
  const { login_with_api_key: login } = await ctx.api().identity.basePath();
  if (login) {
    const host = (await registry(ctx)).split('/')[0]!;
    const code = await docker.run(['login', host, '--username', 'user', '--password-stdin'], ctx.env.apiKey);
    if (code !== 0) throw new JigError('Registry login failed');
  }
  ctx.out.out(`Pushing ${image}`);
  if ((await docker.run(['push', image])) !== 0) throw new JigError('Push failed');
  ctx.out.out(`${glyph.check} Pushed`);
  return image;
}

/** `latest` is deployed by its registry digest, other tags by name (compat.md §8.8). */
export async function imageWithDigest(ctx: CliContext, docker: Docker, tag: string): Promise<string> {
  const image = await imageRef(ctx, tag);
  if (tag !== 'latest') return image;
  const result = await docker.capture(['inspect', '--format={{json .RepoDigests}}', image]);
  if (result.code !== 0) throw new JigError(`Failed to get digest for ${image}: ${result.stderr.trim() || 'Docker command failed'}`);
  const prefix = `${await registry(ctx)}/`;
  const digests = parseDigests(result.stdout);
  const pinned = digests.find((d) => d.startsWith(prefix));
  if (!pinned) throw new JigError(`No registry digest found for ${image}. Make sure the image was pushed to registry first`);
  return pinned;
}

function parseDigests(stdout: string): string[] {
  const text = stdout.trim();
  if (!text || text === 'null') return [];
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? parsed.filter((d): d is string => typeof d === 'string') : [];
}

/** `--warmup` (compat.md §1.6): run the image once to fill a compile cache, then bake the cache in. */
async function warmup(ctx: CliContext, docker: Docker, image: string): Promise<void> {
  const { warmupDest: dest, warmupEnvName: envName, modelPreloadPath: preload } = ctx.env;
  const cacheDir = path.join(ctx.cwd, dest);
  rmSync(cacheDir, { recursive: true, force: true });
  mkdirSync(cacheDir, { recursive: true });
  ctx.out.out(`${glyph.fire} Running warmup to generate compile cache...`);
  const uid = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
  const args = ['run', '--rm', '--gpus', 'all', '--user', uid, '-e', 'RUN_AND_EXIT=1', '-e', `${envName}=/app/${dest}`];
  args.push('-e', `TOGETHER_DEPLOYMENT_NAME=${ctx.project().name}`, '-v', `${ctx.cwd}:/app`);
  if (preload) args.push('-v', `${preload}:${preload}`, '-e', `MODEL_PRELOAD_PATH=${preload}`);
  args.push(image);
  ctx.out.out(`Running: docker ${args.join(' ')}`);
  const code = await docker.run(args);
  if (code !== 0) throw new JigError(`${glyph.extinguisher} Warmup failed with code ${code}`);
  const files = readdirSync(cacheDir, { recursive: true });
  if (!files.length) throw new JigError(`${glyph.extinguisher} Warmup completed but no cache files were generated`);
  ctx.out.out(`${glyph.check} Warmup complete, ${files.length} cache files generated`);
  ctx.out.out(`${glyph.fire} Building final image with cache...`);
  const final = `FROM ${image}\nCOPY ${dest} /app/${dest}\nENV ${envName}=/app/${dest}`;
  if ((await docker.run(['build', '--platform', 'linux/amd64', '-t', image, '-f', '-', '.'], final)) !== 0) {
    throw new JigError(`${glyph.extinguisher} Cache image build failed`);
  }
  ctx.out.out(`${glyph.check} Final image with cache built`);
}

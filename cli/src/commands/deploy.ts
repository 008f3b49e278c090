import path from 'node:path';
import type { Command } from 'commander';
import type { Deployment } from '../api/types.js';
import type { CliContext } from '../context.js';
import { imageWithDigest, buildImage, pushImage } from '../deploy/image.js';
import { stillInProgress, trackDeployment } from '../deploy/track.js';
import { systemDocker, type Docker } from '../docker/docker.js';
import { ApiError, isNotFound, JigError } from '../errors.js';
import { glyph, json, startSpinner } from '../output.js';
import { buildDeployBody } from '../project/deploy-body.js';
import { setSecret, syncSecrets } from '../project/secrets-flow.js';
import { action, type CliIo } from '../run.js';
import { CONFIG_OPTION } from './options.js';
import { interruptible } from './interrupt.js';

export interface DeployOptions {
  tag: string;
  warmup?: boolean;
  dockerArgs?: string;
  buildOnly?: boolean;
  image?: string;
  detach?: boolean;
}

export function registerDeploy(program: Command, io: CliIo): void {
  program
    .command('deploy')
    .description('Build, push and deploy the project (or deploy an existing image)')
    .option('--tag <tag>', 'image tag', 'latest')
    .option('--warmup', 'run the warmup inputs to bake a compile cache into the image')
    .option('--docker-args <args>', 'extra docker build arguments (default: $DOCKER_BUILD_EXTRA_ARGS)')
    .option('--build-only', 'build the image and stop')
    .option('--image <ref>', 'deploy this image; no build or push')
    .option('--detach', 'do not wait for the deployment to become ready')
    .option(...CONFIG_OPTION)
    .action(action<DeployOptions>(io, (ctx, o) => deploy(ctx, o, systemDocker(io.env, ctx.cwd))));
}

export async function deploy(ctx: CliContext, options: DeployOptions, docker: Docker): Promise<void> {
  const chosen = await chooseImage(ctx, options, docker);
  if (options.buildOnly) return ctx.out.out(`${glyph.check} Build complete (--build-only)`);
  await syncSecrets(ctx);
  const { state, config, name } = ctx.project();
  if (!('TOGETHER_API_KEY' in state.secrets)) await setSecret(ctx, 'TOGETHER_API_KEY', ctx.env.apiKey!, 'Auth key for queue API');
  const body = buildDeployBody({ config, image: chosen.image, secrets: state.secrets, apiBaseUrl: ctx.env.baseUrl, localSource: chosen.local });
  if (ctx.env.debug) ctx.out.out(json(body));
  ctx.out.out(`Deploying model: ${name}`);
  const deployment = await apply(ctx, body);
  if (options.detach || deployment.status === 'Ready') return ctx.out.out(json(deployment));
  await track(ctx, deployment);
}

/** The image to deploy (compat.md §1.5 step 1): given, configured, run in place, or built and pushed. */
async function chooseImage(ctx: CliContext, o: DeployOptions, docker: Docker): Promise<{ image: string; local: boolean }> {
  if (o.image) {
    ctx.out.out(`Deploying provided image ${o.image}`);
    return { image: o.image, local: false };
  }
  const configured = ctx.project().config.deploy.image;
  if (configured) {
    ctx.out.out(`Deploying configured image ${configured}`);
    return { image: configured, local: false };
  }
  if (!o.buildOnly && (await runsProjectsInPlace(ctx))) {
    const dir = path.dirname(ctx.project().config.path);
    ctx.out.out(`${glyph.info} The server runs projects in place (embedded default, no container engine): deploying ${dir} as is, build and push skipped`);
    return { image: `local/${ctx.project().name}`, local: true };
  }
  await buildImage(ctx, docker, { tag: o.tag, warmup: o.warmup, dockerArgs: o.dockerArgs });
  await pushImage(ctx, docker, o.tag);
  return { image: await imageWithDigest(ctx, docker, o.tag), local: false };
}

/** Gantry's whoami says which scheduler runs replicas; the embedded one runs project directories. */
async function runsProjectsInPlace(ctx: CliContext): Promise<boolean> {
  const who = await ctx.api().identity.whoami();
  return who.x_gantry_scheduler === 'local';
}

/** PATCH, and on 404 create (compat.md §1.5 step 6). */
async function apply(ctx: CliContext, body: Record<string, unknown>): Promise<Deployment> {
  const api = ctx.api().deployments;
  const { name, config: { uniqueNameHint } } = ctx.project();
  try {
    const updated = await api.update(name, body);
    ctx.out.out(`${glyph.check} Applied new deployment configuration`);
    return updated;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    const created = await api.create(body);
    ctx.out.out(`${glyph.check} Deployed: ${name}`);
    return created;
  } catch (err) {
    if (err instanceof ApiError && err.message.includes('already exists')) throw new JigError(`Deployment name must be unique. Tip: ${uniqueNameHint}`);
    throw err;
  }
}

async function track(ctx: CliContext, deployment: Deployment): Promise<void> {
  const spinner = await startSpinner(ctx.out, `Waiting for ${deployment.name}`);
  try {
    await interruptible(trackDeployment(ctx.api().deployments, deployment, ctx.out, spinner), () => {
      spinner.stop();
      ctx.out.out(`${glyph.warn} Deployment tracking interrupted`);
      stillInProgress(ctx.out, deployment.name ?? ctx.project().name);
    });
  } finally {
    spinner.stop();
  }
}

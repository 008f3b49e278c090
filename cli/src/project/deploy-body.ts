import path from 'node:path';
import { JigError } from '../errors.js';
import type { JigConfig } from './load-config.js';

export interface DeployBodyInput {
  config: JigConfig;
  /** The image reference to deploy (a digest-pinned ref after a `latest` push). */
  image: string;
  /** The project's secrets: environment name → secret name (`.jig.json`). */
  secrets: Record<string, string>;
  /** The API base URL the CLI talks to, e.g. `https://gantry.internal:8443/v1`. */
  apiBaseUrl: string;
  /** Embedded default only: run the project directory instead of an image (`x_gantry_source`). */
  localSource?: boolean;
}

/** Hosts of the hosted product; only other hosts get `TOGETHER_API_BASE_URL` (compat.md §1.5 step 5). */
const VENDOR_HOSTS = ['api.together.ai', 'api.together.xyz'];

/**
 * The body of `PATCH`/`POST /v1/deployments` (compat.md §1.5 step 3): the original's keys in its order,
 * `autoscaling` as `{}` when unset, optional keys only when non-empty, `args` never. Pure.
 */
export function buildDeployBody(input: DeployBodyInput): Record<string, unknown> {
  const { config, image } = input;
  const d = config.deploy;
  const body: Record<string, unknown> = {
    name: config.name,
    description: d.description,
    image,
    min_replicas: d.min_replicas,
    max_replicas: d.max_replicas,
    port: d.port,
    gpu_type: d.gpu_type,
    gpu_count: d.gpu_count,
    cpu: d.cpu,
    memory: d.memory,
    storage: d.storage,
    autoscaling: d.autoscaling,
    termination_grace_period_seconds: d.termination_grace_period_seconds,
    volumes: d.volume_mounts.map((v) => ({ name: v.name, mount_path: v.mount_path, version: v.version })),
  };
  if (d.health_check_path) body.health_check_path = d.health_check_path;
  if (d.command.length) body.command = d.command;
  body.environment_variables = environment(input);
  if (input.localSource) body.x_gantry_source = { path: path.dirname(config.path), config: path.basename(config.path) };
  return body;
}

function environment(input: DeployBodyInput): Array<Record<string, string>> {
  const plain = { ...input.config.deploy.environment_variables };
  assertNoCollisions(plain, input.secrets);
  const base = new URL(input.apiBaseUrl);
  if (!VENDOR_HOSTS.includes(base.hostname) && !('TOGETHER_API_BASE_URL' in plain)) plain.TOGETHER_API_BASE_URL = base.origin;
  return [
    ...Object.entries(plain).map(([name, value]) => ({ name, value })),
    ...Object.entries(input.secrets).map(([name, secret]) => ({ name, value_from_secret: secret })),
  ];
}

/** Newest docs: a name that is both a variable and a secret fails the deploy, listing every one. */
function assertNoCollisions(plain: Record<string, string>, secrets: Record<string, string>): void {
  const clashes = Object.keys(plain).filter((name) => name in secrets);
  if (clashes.length) {
    throw new JigError(
      `environment_variables collide with secrets: ${clashes.sort().join(', ')} (remove them from [tool.jig.deploy.environment_variables] or 'jig secrets unset' them)`,
    );
  }
}

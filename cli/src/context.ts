import { createApi, type GantryApi } from './api/client.js';
import { trustedCa } from './api/local-ca.js';
import { readEnv, type CliEnv } from './env.js';
import { JigError, LauncherError } from './errors.js';
import type { Output } from './output.js';
import { loadConfig, type JigConfig } from './project/load-config.js';
import { ProjectState } from './project/state.js';

/** Options every command may get, before or after its name (`jig --config x deploy` or `jig deploy -c x`). */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  apiKey?: string;
  baseUrl?: string;
}

export interface Project {
  config: JigConfig;
  state: ProjectState;
  name: string;
}

/** What a command runs with; the API client and the project are built on first use. */
export interface CliContext {
  env: CliEnv;
  out: Output;
  cwd: string;
  json: boolean;
  api(): GantryApi;
  project(): Project;
}

/** The launcher's message for a missing key (compat-source.md §B.1). */
export const MISSING_KEY =
  'The api key must be set either by passing --api-key to the command or by setting the TOGETHER_API_KEY environment variable';

export function createContext(options: GlobalOptions, out: Output, processEnv: NodeJS.ProcessEnv, cwd: string): CliContext {
  const env = readEnv(processEnv, options);
  let api: GantryApi | undefined;
  let project: Project | undefined;
  return {
    env,
    out,
    cwd,
    json: Boolean(options.json),
    api: () => (api ??= buildApi(env, cwd)),
    project: () => (project ??= loadProject(cwd, options.config, out)),
  };
}

function buildApi(env: CliEnv, cwd: string): GantryApi {
  if (!env.apiKey) throw new LauncherError(MISSING_KEY);
  try {
    new URL(env.baseUrl);
  } catch {
    throw new JigError(`Invalid base URL ${JSON.stringify(env.baseUrl)} (TOGETHER_BASE_URL, GANTRY_URL or --base-url)`);
  }
  const ca = trustedCa(env.baseUrl, env.dataDir, env.sslCertFile, cwd);
  return createApi({ baseUrl: env.baseUrl, apiKey: env.apiKey, ...(ca ? { ca } : {}) });
}

function loadProject(cwd: string, configPath: string | undefined, out: Output): Project {
  const config = loadConfig(cwd, configPath, (line) => out.err(line));
  return { config, name: config.name, state: ProjectState.load(config.path, config.name) };
}

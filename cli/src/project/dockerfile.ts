import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { split as shellSplit } from 'shlex';
import { JigError } from '../errors.js';
import type { JigConfig } from './load-config.js';

/** First line of a Dockerfile jig may rewrite (compat.md §2.5); without it the file is the user's. */
export const MANAGED_MARKER = '# MANAGED BY JIG - Remove this line to prevent jig from overwriting this file';

export interface DockerfileInput {
  config: JigConfig;
  /** Files to COPY, sorted (see `filesToCopy`). */
  files: string[];
  /** Whether `pyproject.toml` exists in the build context (the working directory). */
  hasPyproject: boolean;
  /** Whether `.git` exists in the build context (VERSION from `git describe`). */
  hasGit: boolean;
  /** Gantry's package index holding its `sprocket` (compat.md §8.30), `<base url>/sdk/python/`. */
  sdkIndexUrl: string;
}

/**
 * The managed Dockerfile, section by section as the original generates it (compat-source.md §B.6), except
 * that `sprocket` comes from Gantry's own index instead of the vendor's, and `[tool.uv.sources]` (which
 * point at the vendor's index) are ignored. Pure.
 */
export function renderDockerfile(input: DockerfileInput): string {
  const { image } = input.config;
  const apt = aptBlock(image.system_packages);
  const env = lines(Object.entries(image.environment).map(([k, v]) => `ENV ${k}=${v}`));
  const run = lines(image.run.map((cmd) => `RUN ${cmd}`));
  const pip = input.hasPyproject ? pipBlock(input.sdkIndexUrl) : '';
  const copy = input.files.map((f) => `COPY ${f} ${f}`).join('\n');
  const version = input.hasGit
    ? 'RUN --mount=type=bind,source=.git,target=/git git --git-dir /git describe --tags --exact-match > VERSION || echo "0.0.0-dev" > VERSION'
    : 'RUN echo "0.0.0-dev" > VERSION';
  const py = image.python_version;
  return `${MANAGED_MARKER}

# Build stage
FROM python:${py} AS builder

${apt}
# Grab UV to install python packages
COPY --from=ghcr.io/astral-sh/uv /uv /usr/local/bin/uv

WORKDIR /app
${pip}

# Final stage - slim image
FROM python:${py}-slim

${apt}
COPY --from=builder /usr/local/lib/python${py} /usr/local/lib/python${py}
COPY --from=builder /usr/local/bin /usr/local/bin

# Tini for proper signal handling
COPY --from=krallin/ubuntu-tini:latest /usr/local/bin/tini /tini
ENTRYPOINT ["/tini", "--"]

${env}
${run}
WORKDIR /app
${copy}
ENV DEPLOYMENT_NAME=${input.config.name}
# this tag will set the X-Worker-Version header, used for rollout monitoring
${version}

CMD ${jsonArray(shellSplit(image.cmd))}`;
}

/** A JSON array spaced as Python's `json.dumps` writes it (the original's CMD line). */
function jsonArray(items: string[]): string {
  return `[${items.map((i) => JSON.stringify(i)).join(', ')}]`;
}

function lines(entries: string[]): string {
  return entries.length ? `${entries.join('\n')}\n` : '';
}

function aptBlock(packages: string[]): string {
  if (!packages.length) return '';
  return `RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\
  apt-get update && \\
  DEBIAN_FRONTEND=noninteractive \\
  apt-get install -y --no-install-recommends ${packages.join(' ')} && \\
  apt-get clean && rm -rf /var/lib/apt/lists/*
`;
}

function pipBlock(index: string): string {
  return `COPY pyproject.toml .
RUN --mount=type=cache,target=/root/.cache/uv \\
    uv pip install --system --compile-bytecode --no-sources --extra-index-url ${index} . && \\
    (python -c "import sprocket; sprocket.__gantry__" 2>/dev/null || (echo "Gantry's sprocket not found, installing it from ${index}..." && uv pip install --system --compile-bytecode --reinstall-package sprocket --extra-index-url ${index} sprocket))
`;
}

/** Runs git in the project directory; injectable so tests need no repository. */
export type GitRunner = (args: string[]) => string;

export function systemGit(cwd: string): GitRunner {
  return (args) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** `copy` plus, with `auto_include_git`, the tracked files of a clean tree; sorted, without duplicates. */
export function filesToCopy(config: JigConfig, git: GitRunner): string[] {
  const files = new Set(config.image.copy);
  if (config.image.auto_include_git) addGitFiles(files, git);
  if (files.has('.')) throw new JigError("Copying '.' is not allowed. Please enumerate specific files");
  return [...files].sort();
}

function addGitFiles(files: Set<string>, git: GitRunner): void {
  let status: string;
  let tracked: string;
  try {
    status = git(['status', '--porcelain']);
    tracked = git(['ls-files']);
  } catch {
    return; // not a repository, or no git: the original ignores it
  }
  if (status.trim()) throw new JigError('Git repository has uncommitted changes: auto_include_git not allowed');
  for (const file of tracked.trim().split('\n')) if (file && file !== '.') files.add(file);
}

export type DockerfileOutcome = 'generated' | 'updated' | 'unchanged' | 'unmanaged';

/** Writes the managed Dockerfile under `cwd` when missing or stale; leaves an unmanaged one alone. */
export function ensureDockerfile(config: JigConfig, cwd: string, sdkIndexUrl: string, git: GitRunner = systemGit(cwd)): DockerfileOutcome {
  const file = path.resolve(cwd, config.image.dockerfile_path);
  const exists = existsSync(file);
  const current = exists ? readFileSync(file, 'utf8') : undefined;
  if (current !== undefined && !current.startsWith(MANAGED_MARKER)) return 'unmanaged';
  const wanted = renderDockerfile({
    config,
    files: filesToCopy(config, git),
    hasPyproject: existsSync(path.join(cwd, 'pyproject.toml')),
    hasGit: existsSync(path.join(cwd, '.git')),
    sdkIndexUrl,
  });
  if (current === wanted) return 'unchanged';
  writeFileSync(file, wanted);
  return exists ? 'updated' : 'generated';
}

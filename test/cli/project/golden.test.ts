import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDeployBody } from '../../../cli/src/project/deploy-body.js';
import { renderDockerfile } from '../../../cli/src/project/dockerfile.js';
import { filesToCopy } from '../../../cli/src/project/dockerfile.js';
import { findConfigFile, loadConfig } from '../../../cli/src/project/load-config.js';
import { REPO_ROOT } from '../../helpers/spawn-ts.js';

/**
 * Golden files for realistic projects (issue 6): the deploy request body (compat.md §1.5) and the managed
 * Dockerfile (§2.5). Regenerate with UPDATE_GOLDEN=1 and review the diff.
 */
const ROOT = path.join(REPO_ROOT, 'test/fixtures/jig-golden');
const CASES = ['cpu-hello-world', 'h100-image-model', 'torchrun-video', 'vllm-image', 'kitchen-sink'];
const API = 'https://gantry.example.com:8443/v1';
const DIGEST = 'sha256:2f5c1d8e9a0b4c3d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d';

function golden(file: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('jig golden projects', () => {
  it.each(CASES)('builds the deploy body of %s exactly', (name) => {
    const dir = path.join(ROOT, name);
    const warnings: string[] = [];
    const config = loadConfig(dir, undefined, (w) => warnings.push(w));
    const secrets = JSON.parse(readFileSync(path.join(dir, 'secrets.json'), 'utf8')) as Record<string, string>;
    const image = config.deploy.image ?? `registry.example.com/team/${config.name}@${DIGEST}`;
    const body = buildDeployBody({ config, image, secrets, apiBaseUrl: API });
    golden(path.join(dir, 'deploy-body.json'), `${JSON.stringify(body, null, 2)}\n`);
    expect(warnings).toEqual([]);
  });

  it.each(CASES.filter((c) => c !== 'vllm-image'))('generates the Dockerfile of %s exactly', (name) => {
    const dir = path.join(ROOT, name);
    const config = loadConfig(dir, undefined, () => undefined);
    const text = renderDockerfile({
      config,
      files: filesToCopy(config, () => ''),
      hasPyproject: path.basename(findConfigFile(dir, undefined)) === 'pyproject.toml',
      hasGit: false,
      sdkIndexUrl: `${API}/sdk/python/`,
    });
    golden(path.join(dir, 'expected.Dockerfile'), text);
  });

  it('generates the Dockerfile of a project without pyproject.toml, with a VERSION from git', () => {
    const config = loadConfig(path.join(ROOT, 'vllm-image'), undefined, () => undefined);
    const text = renderDockerfile({ config, files: [], hasPyproject: false, hasGit: true, sdkIndexUrl: `${API}/sdk/python/` });
    golden(path.join(ROOT, 'vllm-image', 'expected.Dockerfile'), text);
    expect(existsSync(path.join(ROOT, 'vllm-image', 'pyproject.toml'))).toBe(false);
  });
});

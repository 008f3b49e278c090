import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../../shared/ids.js';
import type { BuildAccess } from './sandbox.js';

/**
 * Virtualenvs for Python projects run by the local scheduler.
 *
 * A venv is named by a hash of what goes into it (interpreter version, the project's dependencies without
 * `sprocket`, Gantry's extra packages and the index), so replicas and deployments with the same inputs share
 * one, and a finished one is reused. It is built in place (a venv cannot be moved: its scripts hold absolute
 * paths) and marked finished by a file; a directory without the mark is a build that was cut short, and is
 * rebuilt. Concurrent requests for the same venv wait for the one build.
 */
export interface VenvOptions {
  /** Where venvs live (`<dataDir>/venvs`). */
  root: string;
  pythonBin: string;
  pipIndexUrl: string | undefined;
  /** Installed into every venv, e.g. Gantry's own sprocket wheel (compat.md §8.30). */
  extraPackages: string[];
  /** Gantry's `sprocket` (a wheel or the sdk/python directory), installed when a project requires `sprocket`. */
  sprocketPackage?: string | undefined;
  /** The server's environment, from which pip gets PATH, HOME, proxies and PIP_* settings only. */
  baseEnv: Record<string, string | undefined>;
  /** Runs each build step in the replica sandbox (sandbox.ts); without it, steps run as the server's user. */
  sandbox?: BuildSandbox | undefined;
}

/** The part of the Sandbox a build uses. */
export interface BuildSandbox {
  wrapBuild(argv: string[], access: BuildAccess): { file: string; args: string[] };
}

/** The interpreter that makes virtualenvs, as it reports itself. */
interface Interpreter {
  /** sys.version and sys.executable: what a venv's name depends on. */
  identity: string;
  executable: string;
  /** sys.base_prefix: the installation a venv's interpreter links into. */
  prefix: string;
}

/** `pip install` (or `python -m venv`) failed; the message ends with the last lines of its output. */
export class VenvError extends Error {
  override readonly name = 'VenvError';
}

const READY_MARK = '.gantry-ready';
/** Left by earlier builds or development in a package directory; never copied into a build. */
const BUILD_LEFTOVERS = /^(build|dist|\.venv|venv|__pycache__|\.pytest_cache|\.git|.*\.egg-info)$/;
const PROXIES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
const PIP_ENV_KEYS = new Set(['PATH', 'HOME', 'LANG', 'TMPDIR', ...PROXIES]);

export class VenvManager {
  private readonly builds = new Map<string, Promise<string>>();
  private readonly running = new Set<ChildProcess>();
  private interpreter: Promise<Interpreter> | undefined;

  constructor(private readonly options: VenvOptions) {}

  /** The directory of a finished venv holding `dependencies` (sprocket removed) plus the extra packages. */
  async ensure(dependencies: string[]): Promise<string> {
    const own = withoutSprocket(dependencies);
    const sprocket = own.length < dependencies.length && this.options.sprocketPackage ? [this.options.sprocketPackage] : [];
    const packages = [...own, ...sprocket, ...this.options.extraPackages];
    const dir = path.join(this.options.root, await this.key(packages));
    let build = this.builds.get(dir);
    if (!build) {
      build = this.build(dir, packages).finally(() => this.builds.delete(dir));
      this.builds.set(dir, build);
    }
    return build;
  }

  /** Kills builds still running (server shutdown); their half-made venvs are rebuilt next time. */
  close(): void {
    for (const child of this.running) child.kill('SIGKILL');
  }

  private async build(dir: string, packages: string[]): Promise<string> {
    if (existsSync(path.join(dir, READY_MARK))) return dir;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(this.options.root, { recursive: true, mode: 0o700 });
    const python = await this.python();
    const { installed, access } = this.prepareAccess(dir, python, packages);
    await this.run([python.executable, '-m', 'venv', dir], access, 'python -m venv');
    if (packages.length > 0) await this.run([path.join(dir, 'bin', 'python'), ...this.pipArgs(installed)], access, 'pip install');
    writeFileSync(path.join(dir, READY_MARK), `${new Date().toISOString()}\n`);
    if (this.options.sandbox) rmSync(this.sourcesOf(dir), { recursive: true, force: true });
    return dir;
  }

  /**
   * What a sandboxed build reaches: the venv and pip's cache writable, the interpreter's installation and
   * local package files read-only. A local package directory (Gantry's sprocket) is built in place by
   * setuptools, so it is copied, without build leftovers, to a writable directory and installed from there.
   */
  private prepareAccess(dir: string, python: Interpreter, packages: string[]): { installed: string[]; access: BuildAccess } {
    if (!this.options.sandbox) return { installed: packages, access: { writable: [], readable: [] } };
    const sources = this.sourcesOf(dir);
    rmSync(sources, { recursive: true, force: true });
    const installed = packages.map((p, i) => {
      if (!path.isAbsolute(p) || !existsSync(p) || !statSync(p).isDirectory()) return p;
      const copy = path.join(sources, `${i}-${path.basename(p)}`);
      cpSync(p, copy, { recursive: true, filter: (src) => !BUILD_LEFTOVERS.test(path.basename(src)) });
      return copy;
    });
    const files = packages.filter((p) => path.isAbsolute(p) && existsSync(p) && !statSync(p).isDirectory());
    return { installed, access: { writable: [dir, this.buildHome(), sources], readable: [python.prefix, ...files] } };
  }

  /** Where copies of local package directories are built for the venv `dir`. */
  private sourcesOf(dir: string): string {
    return path.join(this.options.root, '.sources', path.basename(dir));
  }

  /** pip's HOME (its cache) in the sandbox, shared by builds. */
  private buildHome(): string {
    return path.join(this.options.root, '.home');
  }

  /** pip needs PATH, HOME (its cache), proxies and the operator's PIP_* settings; nothing else of the server's. */
  private env(): Record<string, string> {
    const env: Record<string, string> = { PIP_DISABLE_PIP_VERSION_CHECK: '1' };
    for (const [key, value] of Object.entries(this.options.baseEnv)) {
      if (value !== undefined && (PIP_ENV_KEYS.has(key) || key.startsWith('PIP_'))) env[key] = value;
    }
    if (this.options.sandbox) Object.assign(env, { HOME: this.buildHome(), TMPDIR: '/tmp' });
    return env;
  }

  private run(argv: string[], access: BuildAccess, what: string): Promise<void> {
    const [file, ...args] = argv as [string, ...string[]];
    const step = this.options.sandbox ? this.options.sandbox.wrapBuild(argv, access) : { file, args };
    return runStep({ ...step, what }, this.env(), this.running);
  }

  private python(): Promise<Interpreter> {
    this.interpreter ??= describeInterpreter(this.options.pythonBin);
    return this.interpreter;
  }

  private pipArgs(packages: string[]): string[] {
    const index = this.options.pipIndexUrl ? ['--index-url', this.options.pipIndexUrl] : [];
    return ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', ...index, ...packages];
  }

  /**
   * The venv's name. Local files among the packages (a wheel path) count by size and time too: a rebuilt
   * wheel at the same path makes a new venv.
   */
  private async key(packages: string[]): Promise<string> {
    const { identity } = await this.python();
    const files = packages.map((p) => fileStamp(p));
    const input = JSON.stringify([identity, packages, files, this.options.pipIndexUrl ?? '']);
    return sha256Hex(input).slice(0, 24);
  }
}

/**
 * Dependencies without any `sprocket` requirement: PyPI's `sprocket` is an unrelated package, and Gantry
 * supplies its own through the extra packages (compat.md §8.30). Names compare as PEP 503 normalises them.
 */
export function withoutSprocket(dependencies: string[]): string[] {
  return dependencies.filter((dep) => requirementName(dep) !== 'sprocket');
}

/** The normalised project name of a PEP 508 requirement ("Sprocket[x]>=1 ; python_version>'3'" → "sprocket"). */
export function requirementName(requirement: string): string {
  const name = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/.exec(requirement)?.[1] ?? '';
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function fileStamp(maybePath: string): string {
  try {
    const s = statSync(maybePath);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return '';
  }
}

/** Asks the interpreter who it is; a pyenv shim or a PATH name becomes the real executable. */
function describeInterpreter(pythonBin: string): Promise<Interpreter> {
  const script = 'import sys; print(sys.version); print(sys.executable); print(sys.base_prefix)';
  return new Promise((resolve, reject) => {
    execFile(pythonBin, ['-c', script], (err, stdout) => {
      if (err) return reject(new VenvError(`cannot run ${pythonBin} to make a virtualenv: ${err.message}`));
      const lines = stdout.trim().split('\n');
      const prefix = lines.pop()!;
      resolve({ identity: lines.join('\n'), executable: lines.at(-1)!, prefix });
    });
  });
}

/** Runs a build step; on failure, the error carries the last lines of its output (what pip said was wrong). */
function runStep(
  step: { file: string; args: string[]; what: string },
  env: Record<string, string>,
  running: Set<ChildProcess>,
): Promise<void> {
  const { file, args, what } = step;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    running.add(child);
    child.once('close', () => running.delete(child));
    const tail = new OutputTail(40);
    child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
    child.once('error', (err) => reject(new VenvError(`${what} could not start: ${err.message}`)));
    child.once('close', (code) => {
      if (code === 0) return resolve();
      reject(new VenvError(`${what} failed (exit code ${code}):\n${tail.lines().slice(-15).join('\n')}`));
    });
  });
}

/** Keeps the last `max` lines of a stream without holding all of it. */
class OutputTail {
  private kept: string[] = [];
  private partial = '';

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = lines.pop() ?? '';
    this.kept = [...this.kept, ...lines.filter((l) => l.trim())].slice(-this.max);
  }

  lines(): string[] {
    return this.partial.trim() ? [...this.kept, this.partial] : this.kept;
  }
}

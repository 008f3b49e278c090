import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, rename, rm } from 'node:fs/promises';
import { ensurePrivateDirSync, narrowTree } from '../startup/data-dir.js';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseToml } from 'smol-toml';
import type { Logger } from '../shared/logger.js';

const run = promisify(execFile);

/** A built wheel of Gantry's Python SDK. */
export interface WheelFile {
  /** e.g. `sprocket-0.1.4+gantry.1-py3-none-any.whl` */
  filename: string;
  path: string;
  /** Hex SHA-256 of the file (PEP 503 `#sha256=` fragment). */
  sha256: string;
  /** `[project].requires-python` (PEP 503 `data-requires-python`). */
  requiresPython: string | undefined;
}

export interface PythonSdkWheelOptions {
  /** The SDK's source directory (`sdk/python`). */
  sdkDir: string;
  /** Where built wheels are kept, one directory per source hash (under the data dir). */
  cacheDir: string;
  /** The interpreter that runs `pip wheel` (default: python3). */
  pythonBin?: string;
  logger: Logger;
}

/** The files a wheel is built from: the project metadata and the package, not tests or virtualenvs. */
const SOURCE_FILES = /^(pyproject\.toml|README\.md|sprocket\/[\w/]+\.py)$/;

/**
 * Gantry's `sprocket` as a wheel (compat.md §8.30), built with `pip wheel --no-deps` from a copy of the
 * SDK's sources (with the interpreter's own setuptools when it can, else in pip's isolated build
 * environment, which fetches setuptools from the configured index) and cached under the data dir by a hash of those sources, so a changed SDK is rebuilt and
 * an unchanged one never is. One build at a time: concurrent callers share it; a failed build is retried
 * by the next call.
 */
export class PythonSdkWheel {
  private building: Promise<WheelFile> | undefined;

  constructor(private readonly options: PythonSdkWheelOptions) {}

  get(): Promise<WheelFile> {
    this.building ??= this.build().catch((err: unknown) => {
      this.building = undefined;
      throw err;
    });
    return this.building;
  }

  private async build(): Promise<WheelFile> {
    const files = await sourceFiles(this.options.sdkDir);
    const dir = path.join(this.options.cacheDir, await sourceHash(this.options.sdkDir, files));
    const requiresPython = await requiresPythonOf(this.options.sdkDir);
    const cached = await findWheel(dir, requiresPython);
    if (cached) return cached;
    ensurePrivateDirSync(this.options.cacheDir);
    const work = await mkdtemp(path.join(this.options.cacheDir, 'build-'));
    try {
      await this.pipWheel(files, work);
      await rename(path.join(work, 'dist'), dir).catch(async (err: unknown) => {
        if (!(await findWheel(dir, requiresPython))) throw err; // another process finished the same build first
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    narrowTree(dir); // pip writes the wheel 0644
    const built = await findWheel(dir, requiresPython);
    if (!built) throw new Error(`pip wheel left no .whl file in ${dir}`);
    this.options.logger.info({ wheel: built.filename }, "built Gantry's sprocket wheel");
    return built;
  }

  /** Copies the sources to `work/src` (so the build writes nothing into the SDK) and builds into `work/dist`. */
  private async pipWheel(files: string[], work: string): Promise<void> {
    const src = path.join(work, 'src');
    for (const file of files) await cp(path.join(this.options.sdkDir, file), path.join(src, file));
    const python = this.options.pythonBin ?? 'python3';
    const isolation = (await canBuildInPlace(python)) ? ['--no-build-isolation'] : [];
    const args = ['-m', 'pip', 'wheel', '--no-deps', '--disable-pip-version-check', '--quiet', ...isolation, '--wheel-dir', path.join(work, 'dist'), src];
    try {
      await run(python, args, { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const detail = (err as { stderr?: string }).stderr?.trim().split('\n').slice(-5).join('\n') || String(err);
      throw new Error(`"${python} -m pip wheel" failed for ${this.options.sdkDir}: ${detail}`, { cause: err });
    }
  }
}

/**
 * Whether the interpreter can build a wheel without fetching setuptools from an index (build isolation
 * does, which an offline server cannot): setuptools 70.1+ builds wheels itself, older ones need `wheel`.
 */
async function canBuildInPlace(python: string): Promise<boolean> {
  const probe = 'import setuptools\ntry:\n    import setuptools.command.bdist_wheel\nexcept ImportError:\n    import wheel';
  try {
    await run(python, ['-c', probe], { timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

/** The SDK's source files, relative and sorted. */
async function sourceFiles(sdkDir: string): Promise<string[]> {
  const top = await readdir(sdkDir);
  const pkg = (await readdir(path.join(sdkDir, 'sprocket'), { recursive: true })).map((rel) => `sprocket/${rel}`);
  return [...top, ...pkg]
    .map((rel) => rel.split(path.sep).join('/'))
    .filter((rel) => SOURCE_FILES.test(rel))
    .sort();
}

async function sourceHash(sdkDir: string, files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file}\0`).update(await readFile(path.join(sdkDir, file))).update('\0');
  return hash.digest('hex').slice(0, 24);
}

async function findWheel(dir: string, requiresPython: string | undefined): Promise<WheelFile | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const filename = names.find((n) => n.endsWith('.whl'));
  if (!filename) return undefined;
  const file = path.join(dir, filename);
  return { filename, path: file, sha256: createHash('sha256').update(await readFile(file)).digest('hex'), requiresPython };
}

async function requiresPythonOf(sdkDir: string): Promise<string | undefined> {
  const project = parseToml(await readFile(path.join(sdkDir, 'pyproject.toml'), 'utf8')).project as { 'requires-python'?: unknown } | undefined;
  const value = project?.['requires-python'];
  return typeof value === 'string' ? value : undefined;
}

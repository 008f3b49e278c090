import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';

/** Private keys: owner only. */
export const KEY_FILE_MODE = 0o600;

/**
 * Certificates are public: a replica sandboxed under another user reads the CA through a read-only bind
 * of ca.pem (the 0700 directories around it keep everyone else out). The only files of the data directory
 * that are not 0600.
 */
export const CERT_FILE_MODE = 0o644;

/** Creates `dir` owner-only, or narrows an existing one to 0700. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask and leaves an existing directory's alone; chmod makes it exact.
  await chmod(dir, 0o700);
}

/**
 * The file's text, or undefined when it cannot be read for any reason. Callers treat an unreadable file
 * like a missing one and write a fresh one in its place.
 */
export async function readTextIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Replaces `file` atomically: a reader (or a crash) sees the old content or the new, never half of it.
 * The data is synced before the rename so a power loss cannot leave an empty file behind the new name.
 */
export async function writeFileAtomic(file: string, data: string, mode: number): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeSynced(temp, data, mode);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

async function writeSynced(file: string, data: string, mode: number): Promise<void> {
  const handle = await open(file, 'wx', mode);
  try {
    await handle.chmod(mode); // open's mode is filtered by the umask
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Narrows a reused key file back to 0600, in case someone loosened it. */
export async function tightenKeyMode(file: string): Promise<void> {
  await chmod(file, KEY_FILE_MODE);
}

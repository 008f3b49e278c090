import { createHmac, timingSafeEqual } from 'node:crypto';
import { appError, isAppError } from '../shared/errors.js';
import { SIGNED_QUERY, type QueryInput } from '../storage/signing.js';
import { encodeBlobPath, STORAGE_PATH } from '../storage/urls.js';

/**
 * Download URLs of a volume version's files for the jobs of one deployment (a Nomad job's `artifact`
 * blocks). Nomad may place or reschedule an allocation at any time, so these URLs have no expiry; instead
 * each request is checked against live records:
 *
 * - the HMAC-SHA256 (the server's signing key, its own domain tag) covers the volume id, the version, the
 *   deployment id and the file's storage name, so a URL grants exactly one file of one volume version to
 *   one deployment, and nothing can be swapped;
 * - the volume must still have that version, and the file must lie under that version's source prefix;
 *   what is served is the file's copy in the version's frozen files (volume versions are immutable once
 *   mounted), so an upload under the same name later changes nothing an allocation gets;
 * - the deployment must still exist: destroying it (or deleting the volume, possible only once nothing
 *   mounts it) revokes every URL rendered into its jobs.
 */

/** The query parameters of a volume file URL (the signature and purpose names are storage's). */
export const VOLUME_QUERY = {
  volume: 'X-Gantry-Volume',
  version: 'X-Gantry-Version',
  deployment: 'X-Gantry-Deployment',
} as const;

export const VOLUME_PURPOSE = 'volume';

/** One file of one volume version, granted to one deployment. */
export interface VolumeFileGrant {
  volumeId: string;
  version: number;
  deploymentId: string;
  /** The file's storage name (`<source_prefix>/<path>`). */
  filename: string;
}

export interface VolumeFileUrlsOptions {
  /** The HMAC key (the storage signing key; the domain tag keeps the two kinds of URL apart). */
  key: Buffer;
  /** Where a volume version's files are named and kept, or undefined when the volume or the version is gone. */
  versionFiles(volumeId: string, version: number): Promise<VersionFiles | undefined>;
  /** Whether the deployment still exists. */
  deploymentExists(deploymentId: string): Promise<boolean>;
}

/** A volume version's files: their upload names (`sourcePrefix/<path>`) and their frozen copy (`filesPrefix/<path>`). */
export interface VersionFiles {
  sourcePrefix: string;
  /** The blob-root prefix (namespace-qualified) of the version's frozen files. */
  filesPrefix: string;
}

const SIGNATURE_BYTES = 32;

export class VolumeFileUrls {
  constructor(private readonly o: VolumeFileUrlsOptions) {}

  /** The URL (from `baseUrl`, no trailing slash) an allocation of the deployment downloads the file from. */
  url(baseUrl: string, grant: VolumeFileGrant): string {
    const query = new URLSearchParams([
      [SIGNED_QUERY.purpose, VOLUME_PURPOSE],
      [VOLUME_QUERY.volume, grant.volumeId],
      [VOLUME_QUERY.version, String(grant.version)],
      [VOLUME_QUERY.deployment, grant.deploymentId],
      [SIGNED_QUERY.signature, this.mac(grant).toString('base64url')],
    ]);
    return `${baseUrl}${STORAGE_PATH}/${encodeBlobPath(grant.filename)}?${query.toString()}`;
  }

  /** Whether the query claims to be a volume file URL (the storage read path then asks `verify`). */
  claims(query: QueryInput): boolean {
    return query[SIGNED_QUERY.purpose] === VOLUME_PURPOSE;
  }

  /**
   * Throws unless `query` is a genuine URL for `filename` whose volume version and deployment still exist;
   * returns the blob-root name of the file's frozen copy, which is what the URL serves.
   */
  async verify(filename: string, query: QueryInput): Promise<string> {
    const grant = grantOf(filename, query);
    const given = Buffer.from(single(query, SIGNED_QUERY.signature), 'base64url');
    if (given.length !== SIGNATURE_BYTES || !timingSafeEqual(given, this.mac(grant))) {
      throw appError('GANTRY_ERR_STORAGE_BAD_SIGNATURE', 'the signature does not match this volume file URL');
    }
    const files = await this.o.versionFiles(grant.volumeId, grant.version);
    if (files === undefined) throw revoked(`volume ${grant.volumeId} no longer has version ${grant.version}`);
    const source = `${trimSlashes(files.sourcePrefix)}/`;
    if (!filename.startsWith(source)) {
      throw appError('GANTRY_ERR_STORAGE_BAD_SIGNATURE', `file "${filename}" is not part of volume ${grant.volumeId} version ${grant.version}`);
    }
    if (!(await this.o.deploymentExists(grant.deploymentId))) throw revoked(`deployment ${grant.deploymentId} no longer exists`);
    return `${trimSlashes(files.filesPrefix)}/${filename.slice(source.length)}`;
  }

  private mac(grant: VolumeFileGrant): Buffer {
    const canonical = JSON.stringify(['gantry-volume-url-v1', grant.volumeId, grant.version, grant.deploymentId, grant.filename]);
    return createHmac('sha256', this.o.key).update(canonical).digest();
  }
}

/** `lookup` with "not found" as undefined (for `versionFiles` and `deploymentExists` adapters). */
export async function unlessNotFound<T>(lookup: Promise<T>, ...codes: string[]): Promise<T | undefined> {
  try {
    return await lookup;
  } catch (err) {
    if (isAppError(err) && codes.includes(err.code)) return undefined;
    throw err;
  }
}

function grantOf(filename: string, query: QueryInput): VolumeFileGrant {
  const version = single(query, VOLUME_QUERY.version);
  if (!/^\d{1,9}$/.test(version)) throw badQuery(`${VOLUME_QUERY.version} must be a version number`);
  return { volumeId: single(query, VOLUME_QUERY.volume), version: Number(version), deploymentId: single(query, VOLUME_QUERY.deployment), filename };
}

function single(query: QueryInput, name: string): string {
  const value = query[name];
  if (typeof value === 'string' && value !== '') return value;
  throw badQuery(value === undefined ? `${name} is missing` : `${name} must be given exactly once`);
}

function badQuery(what: string): Error {
  return appError('GANTRY_ERR_STORAGE_BAD_SIGNATURE', `not a valid volume file URL: ${what}`, { param: 'query' });
}

function revoked(why: string): Error {
  return appError('GANTRY_ERR_STORAGE_URL_REVOKED', `this volume file URL was revoked: ${why}`);
}

function trimSlashes(prefix: string): string {
  return prefix.replace(/\/+$/, '');
}

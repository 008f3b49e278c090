import { z } from 'zod';
import { blobNameProblem } from '../../blobs/blob-name.js';
import { CONTENT_TYPE, VOLUME_TYPE } from '../../volumes/volume.js';

/**
 * Request bodies and queries of the Volumes API (compat.md §5.3, compat-source.md §C.4), field names as
 * sent. Unknown keys are dropped (zod's default), since the vendor clients may add some; `null` on an
 * optional field means "not given", as the Python SDK sends for `None`.
 */

/** "is required" for a missing field, else `otherwise` (zod's own wording names no field). */
const requiredOr = (otherwise: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'is required' : otherwise;

/** compat.md §8.24: `[A-Za-z0-9_-]{1,100}`. */
export const volumeName = z
  .string({ error: requiredOr('must be a string') })
  .min(1, { error: 'must not be empty' })
  .max(100, { error: 'must be at most 100 characters' })
  .regex(/^[A-Za-z0-9_-]+$/, { error: 'may only contain letters, digits, "_" and "-"' });

const volumeType = z.literal(VOLUME_TYPE, { error: requiredOr(`must be "${VOLUME_TYPE}" (the only volume type)`) });

/**
 * A blob name prefix, checked like any stored file's name. A trailing "/" is dropped: the version's files
 * are the blobs under `<prefix>/` either way, and the stored prefix stays in one spelling.
 */
const sourcePrefix = z
  .string({ error: requiredOr('must be a string') })
  .transform((prefix) => prefix.replace(/\/+$/, ''))
  .superRefine((prefix, ctx) => {
    const problem = blobNameProblem(prefix);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `is not a valid file prefix: ${problem}` });
  });

/**
 * `type` is optional in the TS SDK and "files" is the only kind, so it defaults to that. `source_prefix` is
 * optional there too, but a version without files has nothing to mount, so Gantry requires it.
 */
const content = z.object(
  {
    type: z
      .literal(CONTENT_TYPE, { error: `must be "${CONTENT_TYPE}" (the only content type)` })
      .nullish()
      .transform((): typeof CONTENT_TYPE => CONTENT_TYPE),
    source_prefix: sourcePrefix,
  },
  { error: requiredOr('must be an object') },
);

export const createVolumeBody = z.object({ name: volumeName, type: volumeType, content });

export const patchVolumeBody = z.object({
  name: volumeName.nullish(),
  type: volumeType.nullish(),
  content: content.nullish(),
});

/** `?version=N`: a whole number; query values arrive as strings. */
export const volumeQuery = z.object({
  version: z
    .string({ error: 'must be given once' })
    .regex(/^\d{1,9}$/, { error: 'must be a whole number ≥ 0' })
    .transform(Number)
    .optional(),
});

import { z } from 'zod';
import { blobNameProblem } from '../../blobs/blob-name.js';
import { appError } from '../../shared/errors.js';
import { MAX_PARTS } from '../../storage/storage-service.js';

/** Request bodies and path parameters of the storage routes (compat.md §1.8, §5.4), field names as sent. */

// Extra fields are ignored rather than refused: the vendor tools may add some, and none changes the meaning.
export const uploadRequestBody = z.object({ filename: z.string() });

export const multipartInitBody = z.object({
  filename: z.string(),
  parts_count: z.number().int().min(1).max(MAX_PARTS),
});

export const multipartCompleteBody = z.object({
  filename: z.string(),
  upload_id: z.string().min(1),
  parts: z
    .array(z.object({ part_number: z.number().int(), etag: z.string() }))
    .min(1)
    .max(MAX_PARTS),
});

export const multipartAbortBody = z.object({
  filename: z.string(),
  upload_id: z.string().min(1),
});

export const partParams = z.object({
  uploadId: z.string().min(1),
  partNumber: z.coerce.number().int().min(1).max(MAX_PARTS),
});

/** How much of a refused name a message quotes. */
const QUOTED_NAME_CHARS = 120;

/** `name` if it is a safe filename; otherwise a 400 that says what is wrong, about `param`. */
export function checkedFilename(name: string, param: string): string {
  const problem = blobNameProblem(name);
  if (problem === undefined) return name;
  const quoted = JSON.stringify(name.length > QUOTED_NAME_CHARS ? `${name.slice(0, QUOTED_NAME_CHARS)}…` : name);
  throw appError('GANTRY_ERR_STORAGE_BAD_FILENAME', `${param}: filename ${quoted} is not allowed: ${problem}`, { param });
}

import { z } from 'zod';

/** Wire schemas of the Queue API (compat.md §4) and the worker protocol (§3.5). */

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

const model = z.string({ error: 'required: the deployment name' }).min(1, { error: 'required: the deployment name' });
const requestId = z.string({ error: 'required' }).min(1, { error: 'required' });
const object = (what: string) =>
  z.record(z.string(), z.unknown(), { error: `must be a JSON object (${what})` });

export const SubmitBody = z.object({
  model,
  payload: object('passed unchanged to the worker'),
  info: object('job state the worker may add to').nullish(),
  priority: z
    .number({ error: 'must be an integer' })
    .int({ error: 'must be an integer' })
    .min(INT32.min, { error: 'must be a 32-bit signed integer' })
    .max(INT32.max, { error: 'must be a 32-bit signed integer' })
    .nullish(),
  /** Gantry extension (compat.md §8.6): lost claims tolerated before the job fails (default: 3). */
  max_retries: z.number().int().min(0).max(10).nullish(),
});

export const JobQuery = z.object({ model, request_id: requestId });
export const CancelBody = z.object({
  model,
  request_id: requestId,
  /** Gantry extension: cancel the job even when a worker runs it (default: pending jobs only, §8.4). */
  x_gantry_running: z.boolean({ error: 'must be true or false' }).optional(),
});
export const ModelBody = z.object({ model });
export const ModelQuery = z.object({ model });

export const RetrieveQuery = z.object({
  model,
  timeout: z.string().optional(),
  hostname: z.string().max(253).optional(),
  claim_timeout: z.coerce.number({ error: 'must be a number of seconds' }).positive().max(86_400).optional(),
});

export const StatusBody = z.object({
  model,
  request_id: requestId,
  status: z.enum(['running', 'done', 'failed'], { error: 'must be "running", "done" or "failed"' }),
  payload: object('outputs when done').nullish(),
  info: object('merged into the job info').nullish(),
});

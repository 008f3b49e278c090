import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { SecretStore } from '../../secrets/secret-store.js';
import { appError } from '../../shared/errors.js';
import { parseInput } from '../schemas/validate.js';

export interface SecretsRoutesOptions {
  secrets: SecretStore;
}

/** compat.md §5.2 / compat-source.md §C.3: `[A-Za-z0-9_\-/.]`, 1–100 characters. */
const NAME = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(100, { error: 'must be at most 100 characters' })
  .regex(/^[A-Za-z0-9_\-/.]+$/, { error: 'may only contain letters, digits, "_", "-", "/" and "."' });

/**
 * Secrets reach containers as environment variables, and Linux refuses any single one over 128 KiB
 * (MAX_ARG_STRLEN), so a larger value could be stored but never used. The spec sets no upper bound.
 */
const VALUE = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(64 * 1024, { error: 'must be at most 65536 characters' });

const DESCRIPTION = z.string().max(500, { error: 'must be at most 500 characters' });

/**
 * Unknown keys are dropped (zod's default), since the vendor clients may send extras; known keys are
 * type-checked. `null` on an optional field means "not given", as the Python SDK sends for `None`.
 * `project_id` is accepted and ignored: there is one project per server.
 */
const CreateBody = z.object({
  name: NAME,
  value: VALUE,
  description: DESCRIPTION.nullish(),
  project_id: z.string().nullish(),
});

const PatchBody = z.object({
  name: NAME.nullish(),
  value: VALUE.nullish(),
  description: DESCRIPTION.nullish(),
  project_id: z.string().nullish(),
});

/** `{id}` is an id or a name, and names may hold `/`: the wildcard takes the rest of the path, decoded. */
type ById = { Params: { '*': string } };
const COLLECTION = '/v1/deployments/secrets';
const ONE = `${COLLECTION}/*`;

/**
 * The Secrets API (compat.md §5.2), user keys only. Values go in, never out: no route returns one and no
 * log line carries a body. Creating answers 200, as the vendor API does.
 */
export async function secretsRoutes(app: FastifyInstance, { secrets }: SecretsRoutesOptions): Promise<void> {
  app.get(COLLECTION, async () => ({ object: 'list', data: await secrets.list() }));

  app.post(COLLECTION, async (request) => {
    const body = parseInput(CreateBody, request.body);
    const input = { name: body.name, value: body.value, description: body.description ?? undefined };
    const record = await secrets.create(input, actorOf(request));
    request.log.info({ secretId: record.id }, 'secret created');
    return record;
  });

  app.get<ById>(ONE, async (request) => {
    const record = await secrets.get(request.params['*']);
    if (!record) throw notFound(request.params['*']);
    return record;
  });

  app.patch<ById>(ONE, async (request) => {
    const body = parseInput(PatchBody, request.body);
    const patch = {
      name: body.name ?? undefined,
      value: body.value ?? undefined,
      description: body.description ?? undefined,
    };
    const record = await secrets.update(request.params['*'], patch, actorOf(request));
    request.log.info({ secretId: record.id }, 'secret updated');
    return record;
  });

  app.delete<ById>(ONE, async (request) => {
    if (!(await secrets.delete(request.params['*']))) throw notFound(request.params['*']);
    request.log.info({ secretRef: request.params['*'] }, 'secret deleted');
    return {};
  });
}

/** The key's name is what `created_by` / `last_updated_by` show; routes here run only for user keys. */
function actorOf(request: FastifyRequest): string {
  return request.principal?.name ?? 'unknown';
}

function notFound(idOrName: string) {
  return appError('GANTRY_ERR_SECRET_NOT_FOUND', `no secret with id or name "${idOrName}"`);
}

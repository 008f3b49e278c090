import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Principal } from '../../auth/principal.js';
import type { KeyService } from '../../auth/key-service.js';
import { appError } from '../../shared/errors.js';

/**
 * Who may call a route, set per route as `config: { auth: … }` (default `'user'`):
 * - `public`: no key needed (health, metrics, signed URLs check their own signature);
 * - `optional`: a valid key is used when given, none is fine (routes that also accept a signature);
 * - `user`: a user or admin key;
 * - `worker`: a user key, or a worker token (the route then checks the deployment with
 *   `assertDeploymentAccess`);
 * - `admin`: an admin key.
 */
export type AuthMode = 'public' | 'optional' | 'user' | 'worker' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

export interface AuthPluginOptions {
  keys: KeyService;
}

export const authPlugin = fp<AuthPluginOptions>(
  async (app: FastifyInstance, { keys }) => {
    app.decorateRequest('principal', undefined);
    app.addHook('onRequest', async (request) => {
      const mode = request.routeOptions.config?.auth ?? 'user';
      if (mode === 'public') return;
      const key = bearerOf(request);
      if (key === undefined) {
        if (mode === 'optional') return;
        throw appError('GANTRY_ERR_AUTH_MISSING_KEY', 'missing API key: send "Authorization: Bearer <key>"');
      }
      const principal = await keys.verify(key);
      if (!principal) throw appError('GANTRY_ERR_AUTH_INVALID_KEY', 'invalid API key');
      request.principal = principal;
      assertModeAllows(mode, principal);
    });
  },
  { name: 'gantry-auth' },
);

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match ? match[1]!.trim() : undefined;
}

function assertModeAllows(mode: AuthMode, principal: Principal): void {
  if (principal.kind === 'worker' && mode !== 'worker' && mode !== 'optional') {
    throw appError('GANTRY_ERR_AUTH_FORBIDDEN', 'a worker token may only call the worker routes of its deployment');
  }
  if (mode === 'admin' && !(principal.kind === 'user' && principal.role === 'admin')) {
    throw appError('GANTRY_ERR_AUTH_FORBIDDEN', 'this route needs an admin key');
  }
}

/** Refuses a worker token that belongs to another deployment (compat.md §8.21). */
export function assertDeploymentAccess(principal: Principal | undefined, deploymentId: string): void {
  if (principal?.kind === 'worker' && principal.deploymentId !== deploymentId) {
    throw appError('GANTRY_ERR_AUTH_WRONG_DEPLOYMENT', 'this worker token belongs to another deployment');
  }
}

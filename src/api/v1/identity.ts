import type { FastifyInstance } from 'fastify';
import type { ProjectInfo } from '../../auth/project.js';
import type { ServerConfig } from '../../config/schema.js';
import { appError } from '../../shared/errors.js';

export interface IdentityRoutesOptions {
  project: ProjectInfo;
  registry: ServerConfig['registry'];
  /**
   * Which scheduler runs replicas, reported by whoami as `x_gantry_scheduler`: `local` (the embedded default,
   * no container engine: deployments run a project directory, `x_gantry_source`) or `nomad` (images).
   */
  scheduler: 'local' | 'nomad';
}

/** `/v1/whoami` (compat.md §8.23), `/v3/whoami`, and the registry base path (compat.md §1.3, §8.9). */
export async function identityRoutes(app: FastifyInstance, { project, registry, scheduler }: IdentityRoutesOptions): Promise<void> {
  app.get('/v1/whoami', { config: { auth: 'worker' } }, async (request) => {
    const principal = request.principal!;
    return {
      api_key_id: principal.keyId,
      organization_id: project.organizationId,
      organization_name: project.organizationName,
      project_id: project.projectId,
      project_name: project.projectName,
      project_slug: project.projectSlug,
      user_id: principal.kind === 'user' ? principal.keyId : null,
      key_name: principal.name,
      key_kind: principal.kind === 'user' ? principal.role : 'worker',
      ...(principal.kind === 'worker' ? { deployment_id: principal.deploymentId } : {}),
      x_gantry_scheduler: scheduler,
    };
  });

  // The vendor's newest clients (together 3.x) ask `/v3/whoami` first and read `project.id`; this is the
  // shape they expect for an API key (`type: "project_api_key"`).
  app.get('/v3/whoami', { config: { auth: 'worker' } }, async (request) => ({
    type: 'project_api_key',
    api_key: { id: request.principal!.keyId },
    organization: { id: project.organizationId, name: project.organizationName },
    project: { id: project.projectId, name: project.projectName, slug: project.projectSlug },
  }));

  app.get('/v1/image-repositories/base-path', async () => {
    if (!registry) {
      throw appError(
        'GANTRY_ERR_REGISTRY_NOT_CONFIGURED',
        'no container registry is configured on this server: set GANTRY_REGISTRY to "<host>/<namespace>"',
      );
    }
    return { 'base-path': registry.basePath, login_with_api_key: registry.loginWithApiKey };
  });
}

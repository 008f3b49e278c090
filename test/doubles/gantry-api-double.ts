import Fastify, { type FastifyInstance } from 'fastify';

export interface RecordedRequest {
  method: string;
  url: string;
  body: unknown;
  authorization: string | undefined;
}

/**
 * A small stand-in for Gantry's API, as far as `jig build|push|deploy` and the secrets flow use it: a
 * Fastify app on port 0 over plain HTTP that records every request. `scheduler` decides what whoami says.
 */
export class GantryApiDouble {
  readonly requests: RecordedRequest[] = [];
  readonly deployments = new Map<string, Record<string, unknown>>();
  readonly secrets = new Map<string, Record<string, unknown>>();
  readonly volumes = new Map<string, Record<string, unknown>>();
  private app: FastifyInstance | undefined;
  url = '';

  constructor(
    private readonly options: { scheduler: 'local' | 'nomad'; basePath?: string; loginWithApiKey?: boolean; nameTaken?: boolean; failUploads?: boolean },
  ) {}

  async start(): Promise<string> {
    const app = Fastify();
    app.addHook('onRequest', async (req) => {
      this.requests.push({ method: req.method, url: req.url, body: undefined, authorization: req.headers.authorization });
    });
    app.addHook('preHandler', async (req) => {
      this.requests[this.requests.length - 1]!.body = req.body;
    });
    this.routes(app);
    this.volumeRoutes(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    this.app = app;
    const address = app.server.address() as { port: number };
    this.url = `http://127.0.0.1:${address.port}/v1`;
    return this.url;
  }

  async close(): Promise<void> {
    await this.app?.close();
  }

  /** Requests other than the ones every run makes, as `METHOD /path`. */
  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.url.replace(/^\/v1/, '')}`);
  }

  private routes(app: FastifyInstance): void {
    const notFound = { error: { message: 'not found', type: 'not_found_error', code: 'GANTRY_ERR_NOT_FOUND' } };
    app.get('/v1/whoami', async () => ({ project_id: 'proj_test', x_gantry_scheduler: this.options.scheduler }));
    app.get('/v1/image-repositories/base-path', async () => ({
      'base-path': this.options.basePath ?? 'https://registry.example.com/team',
      login_with_api_key: this.options.loginWithApiKey ?? false,
    }));
    app.get<{ Params: { name: string } }>('/v1/deployments/:name', async (req, reply) => this.deployments.get(req.params.name) ?? reply.code(404).send(notFound));
    app.patch<{ Params: { name: string } }>('/v1/deployments/:name', async (req, reply) => {
      if (!this.deployments.has(req.params.name)) return reply.code(404).send(notFound);
      return this.store(req.body as Record<string, unknown>);
    });
    app.post('/v1/deployments', async (req, reply) => {
      const name = String((req.body as { name?: unknown }).name);
      if (this.options.nameTaken) return reply.code(400).send({ error: { message: `deployment ${name} already exists`, code: 'GANTRY_ERR_CONFLICT' } });
      return this.store(req.body as Record<string, unknown>);
    });
    app.patch<{ Params: { name: string } }>('/v1/deployments/secrets/:name', async (req, reply) =>
      this.secrets.has(req.params.name) ? { id: req.params.name } : reply.code(404).send(notFound),
    );
    app.post('/v1/deployments/secrets', async (req) => {
      const body = req.body as { name: string };
      this.secrets.set(body.name, { name: body.name });
      return { id: body.name, name: body.name, object: 'secret' };
    });
  }

  private volumeRoutes(app: FastifyInstance): void {
    const base = '/v1/deployments/storage/volumes';
    app.post(base, async (req, reply) => {
      const body = req.body as { name: string };
      if (this.volumes.has(body.name)) return reply.code(400).send({ error: { message: `volume ${body.name} already exists` } });
      const volume = { ...body, id: `vol_${body.name}`, current_version: 0 };
      this.volumes.set(body.name, volume);
      return volume;
    });
    app.delete<{ Params: { name: string } }>(`${base}/:name`, async (req) => {
      this.volumes.delete(req.params.name);
      return {};
    });
    app.post('/v1/storage/upload-request', async (req, reply) => {
      if (this.options.failUploads) return reply.code(503).send({ error: { message: 'storage is unavailable' } });
      return { upload_url: { url: `${this.url.replace(/\/v1$/, '')}/upload/${(req.body as { filename: string }).filename}`, method: 'PUT' } };
    });
  }

  /** A created or updated deployment answers Ready, so `jig deploy` prints it and stops (no tracking). */
  private store(body: Record<string, unknown>): Record<string, unknown> {
    const deployment = { ...body, id: `dep_${String(body.name)}`, object: 'deployment', status: 'Ready' };
    this.deployments.set(String(body.name), deployment);
    return deployment;
  }
}

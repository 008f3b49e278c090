import { afterEach, describe, expect, it } from 'vitest';
import { createTestServer, type TestServer } from '../../helpers/test-server.js';

/** `jig deploy` decides between building an image and sending the project directory from this field. */
describe('whoami x_gantry_scheduler', () => {
  let server: TestServer | undefined;
  afterEach(async () => server?.close());

  it('reports local when the embedded scheduler runs replicas', async () => {
    server = await createTestServer();
    const res = await server.app.inject({ method: 'GET', url: '/v1/whoami', headers: server.auth });
    expect(res.json().x_gantry_scheduler).toBe('local');
  });

  it('answers /v3/whoami in the shape the vendor\'s newest clients read', async () => {
    server = await createTestServer();
    const res = await server.app.inject({ method: 'GET', url: '/v3/whoami', headers: server.auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ type: 'project_api_key', project: { id: server.deps.project.projectId }, api_key: { id: expect.any(String) } });
    expect((await server.app.inject({ method: 'GET', url: '/v3/whoami' })).statusCode).toBe(401);
  });

  it('reports nomad when NOMAD_ADDR is configured', async () => {
    server = await createTestServer({ env: { NOMAD_ADDR: 'http://127.0.0.1:4646' } });
    const res = await server.app.inject({ method: 'GET', url: '/v1/whoami', headers: server.auth });
    expect(res.json().x_gantry_scheduler).toBe('nomad');
  });
});

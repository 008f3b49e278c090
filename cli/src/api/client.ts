import { DeploymentsApi } from './deployments.js';
import { HttpClient, type HttpClientOptions } from './http.js';
import { IdentityApi } from './identity.js';
import { QueueApi } from './queue.js';
import { SecretsApi } from './secrets.js';
import { StorageApi } from './storage.js';
import { VolumesApi } from './volumes.js';

/** Gantry's API as the CLI uses it: one object per resource over one transport. */
export interface GantryApi {
  http: HttpClient;
  deployments: DeploymentsApi;
  secrets: SecretsApi;
  volumes: VolumesApi;
  queue: QueueApi;
  storage: StorageApi;
  identity: IdentityApi;
}

export function createApi(options: HttpClientOptions): GantryApi {
  const http = new HttpClient(options);
  return {
    http,
    deployments: new DeploymentsApi(http),
    secrets: new SecretsApi(http),
    volumes: new VolumesApi(http),
    queue: new QueueApi(http),
    storage: new StorageApi(http),
    identity: new IdentityApi(http),
  };
}

import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../../config/schema.js';
import type { StorageService } from '../../storage/storage-service.js';

export interface StorageRoutesOptions {
  storage: StorageService;
  config: ServerConfig;
}

/** PLACEHOLDER: the storage routes (compat.md §5.4, §1.8) are being written. */
export async function storageRoutes(_app: FastifyInstance, _options: StorageRoutesOptions): Promise<void> {}

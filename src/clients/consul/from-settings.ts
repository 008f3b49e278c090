import type { ConsulSettings } from '../../config/schema.js';
import { ConsulClient } from './index.js';

/** A client for the configured Consul agent (address, ACL token, datacenter, TLS files). */
export function consulClientFrom(settings: ConsulSettings): ConsulClient {
  return new ConsulClient({
    address: settings.address,
    ...(settings.token ? { token: settings.token } : {}),
    ...(settings.datacenter ? { datacenter: settings.datacenter } : {}),
    ...(settings.caFile ? { caFile: settings.caFile } : {}),
    ...(settings.certFile ? { certFile: settings.certFile } : {}),
    ...(settings.keyFile ? { keyFile: settings.keyFile } : {}),
  });
}

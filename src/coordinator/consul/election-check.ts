import { randomBytes } from 'node:crypto';
import type { ConsulClient } from '../../clients/consul/index.js';

/** The Consul service every control-plane replica registers for its election heartbeat. */
export const ELECTION_SERVICE = 'gantry-election';

/** Consul's agent reaps a service whose check stayed critical this long (its floor is one minute). */
const REAP_AFTER = '1m';

/**
 * This process's heartbeat in Consul: a TTL check on a `gantry-election` service instance with an id of
 * its own (a restarted process never inherits a dead one's check). The election session is tied to the
 * check, so when the process stops passing it the agent marks it critical exactly one TTL after the last
 * pass and Consul invalidates the session then, instead of reaping it up to 2 × TTL after its last renewal
 * (hashicorp.md §3.2). The agent deregisters the instance a minute after it went critical.
 */
export class ElectionCheck {
  readonly serviceId = `${ELECTION_SERVICE}-${randomBytes(6).toString('hex')}`;
  readonly checkId = `${this.serviceId}:ttl`;
  private registered = false;

  constructor(
    private readonly client: ConsulClient,
    private readonly advertiseUrl: string,
    private readonly ttlSeconds: number,
  ) {}

  /** Passes the check; registers it (passing) first when the agent does not know it yet or any more. */
  async pass(): Promise<void> {
    if (this.registered && (await this.client.agent.passCheck(this.checkId))) return;
    await this.register();
  }

  /** Removes the instance and its check (which invalidates a session still tied to it). */
  async deregister(): Promise<void> {
    if (!this.registered) return;
    this.registered = false;
    await this.client.agent.deregister(this.serviceId);
  }

  private async register(): Promise<void> {
    const url = new URL(this.advertiseUrl);
    await this.client.agent.register({
      ID: this.serviceId,
      Name: ELECTION_SERVICE,
      Address: url.hostname,
      Port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      Meta: { url: this.advertiseUrl },
      Check: { CheckID: this.checkId, Name: 'leader-election heartbeat', TTL: `${this.ttlSeconds}s`, Status: 'passing', DeregisterCriticalServiceAfter: REAP_AFTER },
    });
    this.registered = true;
  }
}

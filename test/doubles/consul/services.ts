import { lowerKeys } from './sessions.js';

/**
 * Services registered through the agent API, with their checks (hashicorp.md §3.6). A check starts
 * `critical` unless its definition sets `Status`, as in Consul; tests move it with `setCheckStatus` (or the
 * agent's `/v1/agent/check/update/:id`). The double's one node always has a passing `serfHealth`.
 */

export type CheckStatus = 'passing' | 'warning' | 'critical';

export interface CheckState {
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Output: string;
  ServiceID: string;
  ServiceName: string;
}

export interface ServiceState {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
  checks: CheckState[];
  CreateIndex: number;
  ModifyIndex: number;
}

export class ServiceTable {
  readonly byId = new Map<string, ServiceState>();
  maxIndex = 0;

  /** Registers (or replaces) a service from an agent register body. Throws with Consul's wording. */
  register(idx: number, body: Record<string, unknown>): ServiceState {
    const b = lowerKeys(body);
    const name = b.name as string | undefined;
    if (!name) throw new Error('Missing service name');
    const id = (b.id as string | undefined) || name;
    const service: ServiceState = {
      ID: id,
      Service: name,
      Tags: (b.tags as string[] | undefined) ?? [],
      Address: (b.address as string | undefined) ?? '',
      Port: Number(b.port ?? 0),
      Meta: (b.meta as Record<string, string> | undefined) ?? {},
      checks: checksOf(id, name, b),
      CreateIndex: this.byId.get(id)?.CreateIndex ?? idx,
      ModifyIndex: idx,
    };
    this.byId.set(id, service);
    this.maxIndex = idx;
    return service;
  }

  deregister(idx: number, id: string): boolean {
    const existed = this.byId.delete(id);
    if (existed) this.maxIndex = idx;
    return existed;
  }

  findCheck(checkId: string): CheckState | undefined {
    for (const s of this.byId.values()) for (const c of s.checks) if (c.CheckID === checkId) return c;
    return undefined;
  }

  setCheck(idx: number, checkId: string, status: CheckStatus, output = ''): boolean {
    const check = this.findCheck(checkId);
    if (!check) return false;
    check.Status = status;
    check.Output = output;
    this.maxIndex = idx;
    return true;
  }

  named(name: string): ServiceState[] {
    return [...this.byId.values()].filter((s) => s.Service === name).sort((a, b) => (a.ID < b.ID ? -1 : 1));
  }
}

function checksOf(id: string, name: string, b: Record<string, unknown>): CheckState[] {
  const defs = [...(b.check ? [b.check] : []), ...((b.checks as unknown[] | undefined) ?? [])] as Array<Record<string, unknown>>;
  return defs.map((raw, i) => {
    const def = lowerKeys(raw);
    const checkId = (def.checkid as string | undefined) ?? (def.id as string | undefined) ?? (defs.length === 1 ? `service:${id}` : `service:${id}:${i + 1}`);
    return {
      CheckID: checkId,
      Name: (def.name as string | undefined) ?? `Service '${name}' check`,
      Status: ((def.status as CheckStatus | undefined) ?? 'critical'),
      Output: '',
      ServiceID: id,
      ServiceName: name,
    };
  });
}

import type { CheckTiming } from './check-clock.js';
import { lowerKeys, parseDurationMs } from './sessions.js';

/**
 * Services registered through the agent API, with their checks (hashicorp.md §3.6). A check starts
 * `critical` unless its definition sets `Status`, as in Consul; tests move it with `setCheckStatus` (or the
 * agent's `/v1/agent/check/update/:id`). A check with `TTL` keeps its timing (see check-clock.ts);
 * `DeregisterCriticalServiceAfter` below Consul's one-minute floor is raised to it, as the agent does.
 * The double's one node always has a passing `serfHealth`.
 */

export type CheckStatus = 'passing' | 'warning' | 'critical';

export interface CheckState {
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  /** `ttl` for a TTL check, empty otherwise (Consul also reports `http`, `tcp`…). */
  Type: string;
}

export interface ServiceState {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
  checks: CheckState[];
  /** Agent-side timing of each check, by check id. */
  timings: Map<string, CheckTiming>;
  CreateIndex: number;
  ModifyIndex: number;
}

export class ServiceTable {
  readonly byId = new Map<string, ServiceState>();
  maxIndex = 0;

  /** Registers (or replaces) a service from an agent register body. Throws with Consul's wording. */
  /** Registers (or replaces) a service from an agent register body; with the service it replaced. */
  register(idx: number, body: Record<string, unknown>): { service: ServiceState; replaced: ServiceState | undefined } {
    const b = lowerKeys(body);
    const name = b.name as string | undefined;
    if (!name) throw new Error('Missing service name');
    const id = (b.id as string | undefined) || name;
    const defs = checkDefs(id, b);
    const replaced = this.byId.get(id);
    const service: ServiceState = {
      ID: id,
      Service: name,
      Tags: (b.tags as string[] | undefined) ?? [],
      Address: (b.address as string | undefined) ?? '',
      Port: Number(b.port ?? 0),
      Meta: (b.meta as Record<string, string> | undefined) ?? {},
      checks: defs.map((def) => checkOf(def, id, name)),
      timings: new Map(defs.map((def) => [def.id, timingOf(def.raw)])),
      CreateIndex: replaced?.CreateIndex ?? idx,
      ModifyIndex: idx,
    };
    this.byId.set(id, service);
    this.maxIndex = idx;
    return { service, replaced };
  }

  deregister(idx: number, id: string): boolean {
    const existed = this.byId.delete(id);
    if (existed) this.maxIndex = idx;
    return existed;
  }

  findCheck(checkId: string): CheckState | undefined {
    return this.ownerOf(checkId)?.checks.find((c) => c.CheckID === checkId);
  }

  /** The service a check belongs to. */
  ownerOf(checkId: string): ServiceState | undefined {
    for (const s of this.byId.values()) if (s.checks.some((c) => c.CheckID === checkId)) return s;
    return undefined;
  }

  /** Sets a check's status; the check and its service, or undefined when the check is unknown. */
  setCheck(idx: number, checkId: string, status: CheckStatus, output = ''): { service: ServiceState; check: CheckState } | undefined {
    const service = this.ownerOf(checkId);
    const check = service?.checks.find((c) => c.CheckID === checkId);
    if (!service || !check) return undefined;
    check.Status = status;
    check.Output = output;
    this.maxIndex = idx;
    return { service, check };
  }

  named(name: string): ServiceState[] {
    return [...this.byId.values()].filter((s) => s.Service === name).sort((a, b) => (a.ID < b.ID ? -1 : 1));
  }
}

const MIN_DEREGISTER_AFTER_MS = 60_000;

interface CheckDef {
  id: string;
  raw: Record<string, unknown>;
}

function checkDefs(serviceId: string, b: Record<string, unknown>): CheckDef[] {
  const defs = [...(b.check ? [b.check] : []), ...((b.checks as unknown[] | undefined) ?? [])] as Array<Record<string, unknown>>;
  return defs.map((raw, i) => {
    const def = lowerKeys(raw);
    const id = (def.checkid as string | undefined) ?? (def.id as string | undefined) ?? (defs.length === 1 ? `service:${serviceId}` : `service:${serviceId}:${i + 1}`);
    return { id, raw: def };
  });
}

function checkOf(def: CheckDef, serviceId: string, serviceName: string): CheckState {
  return {
    CheckID: def.id,
    Name: (def.raw.name as string | undefined) ?? `Service '${serviceName}' check`,
    Status: (def.raw.status as CheckStatus | undefined) ?? 'critical',
    Output: '',
    ServiceID: serviceId,
    ServiceName: serviceName,
    Type: def.raw.ttl ? 'ttl' : '',
  };
}

function timingOf(def: Record<string, unknown>): CheckTiming {
  const ttlMs = durationField(def.ttl, 'TTL');
  const after = durationField(def.deregistercriticalserviceafter, 'DeregisterCriticalServiceAfter');
  return {
    ...(ttlMs ? { ttlMs } : {}),
    ...(after ? { deregisterAfterMs: Math.max(after, MIN_DEREGISTER_AFTER_MS) } : {}),
  };
}

function durationField(raw: unknown, name: string): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const ms = parseDurationMs(String(raw));
  if (ms === undefined) throw new Error(`Request decode failed: ${name}: time: invalid duration "${String(raw)}"`);
  return ms;
}

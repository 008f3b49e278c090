import { randomUUID } from 'node:crypto';

/**
 * Sessions of the Consul double (hashicorp.md §3.2, consul `session_endpoint.go`, `session_ttl.go`):
 * TTL between the server's minimum (10 s) and 24 h, reaped at TTL × 2 after the last renewal; LockDelay
 * default 15 s, at most 60 s; Behavior `release` (default) or `delete`. Checks follow Consul ≥ 1.7
 * (`fixupEmptySessionChecks`): `Checks` and `NodeChecks` both default to `serfHealth`; `"Checks": []` empties
 * the node checks too (a session without node checks, kept by its TTL and any `ServiceChecks`); `Checks`
 * naming only `serfHealth` defers to `NodeChecks`; an empty `NodeChecks` drops the default `Checks`.
 */

export interface Session {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: 'release' | 'delete';
  TTL: string;
  NodeChecks: string[];
  ServiceChecks: Array<{ ID: string; Namespace?: string }> | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface SessionLimits {
  /** Smallest TTL accepted, ms (Consul's `session_ttl_min`, default 10 s). */
  minTtlMs: number;
  /** Reap after TTL × this (Consul: 2). */
  ttlMultiplier: number;
}

const MAX_TTL_MS = 24 * 3_600_000;
const MAX_LOCK_DELAY_NS = 60e9;
const NS_PER_MS = 1e6;

/** The validation error text Consul's RPC layer returns (as HTTP 500). */
export class SessionError extends Error {}

/** Parses the create body into a session (without indexes); throws SessionError with Consul's wording. */
export function sessionFromBody(body: Record<string, unknown>, node: string, limits: SessionLimits): Omit<Session, 'CreateIndex' | 'ModifyIndex'> {
  const lower = lowerKeys(body);
  const behavior = (lower.behavior as string | undefined) || 'release';
  if (behavior !== 'release' && behavior !== 'delete') throw new SessionError(`Invalid Behavior setting '${behavior}'`);
  const ttl = (lower.ttl as string | undefined) ?? '';
  if (ttl !== '') checkTtl(ttl, limits);
  const checks = nodeChecksOf(lower);
  return {
    ID: randomUUID(),
    Name: (lower.name as string | undefined) ?? '',
    Node: (lower.node as string | undefined) || node,
    LockDelay: lockDelayNs(lower.lockdelay),
    Behavior: behavior,
    TTL: ttl,
    NodeChecks: checks,
    ServiceChecks: (lower.servicechecks as Session['ServiceChecks'] | undefined) ?? null,
  };
}

function nodeChecksOf(lower: Record<string, unknown>): string[] {
  let checks = 'checks' in lower ? asList(lower.checks) : ['serfHealth'];
  let nodeChecks = 'nodechecks' in lower ? asList(lower.nodechecks) : ['serfHealth'];
  if (checks.length === 0) nodeChecks = [];
  else if (checks.length === 1 && checks[0] === 'serfHealth') checks = [];
  else if (nodeChecks.length === 0) checks = [];
  return [...new Set([...checks, ...nodeChecks])];
}

/** Every check a session is tied to: its node checks and its service checks. */
export function sessionCheckIds(session: Pick<Session, 'NodeChecks' | 'ServiceChecks'>): string[] {
  return [...session.NodeChecks, ...(session.ServiceChecks?.map((c) => c.ID) ?? [])];
}

/** The delay before a session's timer fires: TTL × multiplier. Undefined for a session without TTL. */
export function reapAfterMs(session: Session, limits: SessionLimits): number | undefined {
  return session.TTL ? parseDurationMs(session.TTL)! * limits.ttlMultiplier : undefined;
}

function checkTtl(ttl: string, limits: SessionLimits): void {
  const ms = parseDurationMs(ttl);
  if (ms === undefined) throw new SessionError(`Session TTL '${ttl}' invalid: time: invalid duration "${ttl}"`);
  if (ms !== 0 && (ms < limits.minTtlMs || ms > MAX_TTL_MS)) {
    throw new SessionError(`Invalid Session TTL '${ms * NS_PER_MS}', must be between [${formatMs(limits.minTtlMs)}=24h0m0s]`);
  }
}

/** Numbers below 1000 are seconds, other numbers nanoseconds, strings Go durations (FixupLockDelay). */
function lockDelayNs(raw: unknown): number {
  if (raw === undefined || raw === null) return 15e9;
  const ns = typeof raw === 'number' ? (raw < 1000 ? raw * 1e9 : raw) : (parseDurationMs(String(raw)) ?? NaN) * NS_PER_MS;
  if (!Number.isFinite(ns)) throw new SessionError(`Request decode failed: time: invalid duration "${String(raw)}"`);
  if (ns > MAX_LOCK_DELAY_NS) throw new SessionError(`Lock delay must be <= 1m0s`);
  return ns;
}

/** Go's duration syntax (`1h2m3.5s`, `150ms`, `0`); undefined when it does not parse. */
export function parseDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function asList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** Consul accepts PascalCase and snake_case keys alike. */
export function lowerKeys(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k.toLowerCase().replaceAll('_', ''), v]));
}

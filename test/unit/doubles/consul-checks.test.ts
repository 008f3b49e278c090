import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsulDoubleState } from '../../doubles/consul/state.js';

/**
 * The Consul double's agent-side check timing, with fake timers (the real-server twin of the TTL case is in
 * test/contracts/consul-api.contract.ts; reaping takes a minute at least, too long for a contract test).
 */
describe('Consul double: TTL checks and sessions tied to them', () => {
  let state: ConsulDoubleState;
  beforeEach(() => {
    vi.useFakeTimers();
    state = new ConsulDoubleState('node-1', { minTtlMs: 10_000, ttlMultiplier: 2 });
  });
  afterEach(() => {
    state.close();
    vi.useRealTimers();
  });
  const register = (status?: string, extra: object = {}) =>
    state.registerService({ ID: 'svc-1', Name: 'svc', Check: { CheckID: 'svc-1:ttl', TTL: '5s', ...(status ? { Status: status } : {}), ...extra } });
  const checkOf = () => state.services.findCheck('svc-1:ttl');

  it('lapses a TTL check one TTL after its last pass, re-armed by every pass', () => {
    register('passing');
    vi.advanceTimersByTime(4_000);
    state.setCheck('svc-1:ttl', 'passing');
    vi.advanceTimersByTime(4_000);
    expect(checkOf()?.Status).toBe('passing');
    vi.advanceTimersByTime(1_001);
    expect(checkOf()).toMatchObject({ Status: 'critical', Output: 'TTL expired' });
  });

  it('invalidates a tied session when its check lapses and holds its locks for the lock-delay', () => {
    register('passing');
    const session = state.createSession({ TTL: '60s', Checks: [], ServiceChecks: [{ ID: 'svc-1:ttl' }], LockDelay: '2s' });
    state.write((idx) => state.kv.lock(idx, { Key: 'lock', Flags: 0, Value: Buffer.from('me') }, session.ID));
    vi.advanceTimersByTime(5_001);
    expect(state.sessions.has(session.ID)).toBe(false);
    expect(state.kv.get('lock')?.Session).toBeUndefined();
    expect(state.inLockDelay('lock')).toBe(true);
  });

  it('refuses sessions on a missing or critical check', () => {
    expect(() => state.createSession({ Checks: [], ServiceChecks: [{ ID: 'nope' }] })).toThrow("Missing check 'nope' registration");
    register();
    expect(() => state.createSession({ Checks: [], ServiceChecks: [{ ID: 'svc-1:ttl' }] })).toThrow("Check 'svc-1:ttl' is in critical state");
  });

  it('reaps a service whose check stayed critical for DeregisterCriticalServiceAfter (at least a minute)', () => {
    register('passing', { DeregisterCriticalServiceAfter: '10s' });
    vi.advanceTimersByTime(5_001);
    expect(checkOf()?.Status).toBe('critical');
    vi.advanceTimersByTime(59_000);
    expect(state.services.byId.has('svc-1')).toBe(true);
    vi.advanceTimersByTime(1_000);
    expect(state.services.byId.has('svc-1')).toBe(false);
  });

  it('does not reap a service whose check recovered in time', () => {
    register('passing', { DeregisterCriticalServiceAfter: '1m' });
    vi.advanceTimersByTime(30_000);
    state.setCheck('svc-1:ttl', 'passing');
    vi.advanceTimersByTime(50_000);
    expect(state.services.byId.has('svc-1')).toBe(true);
  });

  it('follows Consul 1.7+ on session checks: "Checks": [] drops every node check, none keeps serfHealth', () => {
    expect(state.createSession({ Checks: [] }).NodeChecks).toEqual([]);
    expect(state.createSession({ Checks: [], NodeChecks: ['x'] }).NodeChecks).toEqual([]);
    expect(state.createSession({}).NodeChecks).toEqual(['serfHealth']);
  });
});

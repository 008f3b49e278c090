import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createConsulDouble } from '../../test/doubles/consul/consul-double.js';
import { spawnTs } from '../../test/helpers/spawn-ts.js';

/**
 * Leader failover: three replica processes campaign on the Consul double; the leader is killed with
 * SIGKILL (no release, no goodbye) and the time until another replica leads is printed, next to the bound:
 * its heartbeat check lapses within a TTL (ending its session), then the lock-delay. Written to
 * `bench/results/coordinator-failover.json`.
 *
 *   npm run bench:failover -- [ttlSeconds=10] [lockDelaySeconds=5] [rounds=1]
 */
const [ttl = '10', lockDelay = '5', rounds = '1'] = process.argv.slice(2);
const consul = await createConsulDouble({ minSessionTtlMs: 1_000 });
const leaders: Array<{ url: string; at: number }> = [];
const replicas = new Map<string, ChildProcess>();

function startReplica(url: string): void {
  const child = spawnTs('bench/coordinator/replica.ts', [consul.url, url, ttl, lockDelay]);
  replicas.set(url, child);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const [what, who, , at] = line.split(' ');
    if (what === 'leader') leaders.push({ url: who!, at: Number(at) });
  });
}

async function nextLeader(after: number): Promise<{ url: string; at: number }> {
  for (;;) {
    const found = leaders.find((l) => l.at >= after);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const n of [1, 2, 3]) startReplica(`https://replica-${n}:8443`);
let leader = await nextLeader(0);
const results: Array<{ round: number; takeoverSeconds: number }> = [];
for (let round = 1; round <= Number(rounds); round++) {
  const killedAt = Date.now();
  replicas.get(leader.url)!.kill('SIGKILL');
  const next = await nextLeader(killedAt);
  const bound = Number(ttl) + Number(lockDelay);
  console.log(`round ${round}: killed ${leader.url}; ${next.url} leads after ${((next.at - killedAt) / 1000).toFixed(2)} s (bound: TTL ${ttl} s + lock-delay ${lockDelay} s = ${bound} s)`);
  results.push({ round, takeoverSeconds: (next.at - killedAt) / 1000 });
  startReplica(leader.url);
  leader = next;
}
const summary = { date: new Date().toISOString(), node: process.version, ttlSeconds: Number(ttl), lockDelaySeconds: Number(lockDelay), boundSeconds: Number(ttl) + Number(lockDelay), results };
writeFileSync(new URL('../results/coordinator-failover.json', import.meta.url), `${JSON.stringify(summary, null, 2)}\n`);
for (const child of replicas.values()) child.kill('SIGKILL');
await consul.close();

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomMetricSource, metricValue } from '../../../src/autoscaler/custom-metric.js';
import type { Endpoint } from '../../../src/discovery/discovery.js';

const NAME = 'vllm:num_requests_running';

describe('metricValue', () => {
  it.each([
    { name: 'a gauge with HELP and TYPE', text: `# HELP ${NAME} Running.\n# TYPE ${NAME} gauge\n${NAME}{model_name="m"} 3.0\n`, want: 3 },
    { name: 'label sets are summed', text: `${NAME}{model_name="a"} 2\n${NAME}{model_name="b"} 5\n`, want: 7 },
    { name: 'a last line without its newline', text: `other 1\n${NAME} 4`, want: 4 },
    { name: 'exponent notation', text: `${NAME} 1.5e1\n`, want: 15 },
  ])('reads $name', ({ text, want }) => {
    expect(metricValue(text, NAME)).toBe(want);
  });

  it.each([
    { name: 'an HTML page', text: '<html><body>502 Bad Gateway</body></html>\n', why: /has no metric/ },
    { name: 'a missing metric', text: 'process_cpu_seconds_total 12\n', why: /has no metric vllm:num_requests_running/ },
    { name: 'a value that is not a number', text: `${NAME} many\n`, why: /not a finite number/ },
    { name: 'NaN', text: `${NAME} NaN\n`, why: /not a finite number/ },
    { name: 'a broken label set', text: `${NAME}{model="a" 3\n`, why: /invalid line/ },
  ])('refuses $name', ({ text, why }) => {
    expect(() => metricValue(text, NAME)).toThrow(why);
  });
});

/** Replica /metrics endpoints: each answers what `answers` says for its port. */
describe('CustomMetricSource', () => {
  const answers = new Map<number, { status: number; body: string; delayMs?: number }>();
  const servers: Server[] = [];
  const ports: number[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const server = createServer((req, res) => {
        const a = answers.get((req.socket.address() as AddressInfo).port) ?? { status: 404, body: '' };
        setTimeout(() => res.writeHead(a.status, { 'content-type': 'text/plain' }).end(a.body), a.delayMs ?? 0);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
      ports.push((server.address() as AddressInfo).port);
    }
  });
  afterAll(async () => {
    for (const s of servers) s.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  const replica = (n: number, port = ports[n]!): Endpoint => ({ replicaId: `r${n}`, address: { host: '127.0.0.1', port } });
  const good = (value: number) => ({ status: 200, body: `# TYPE ${NAME} gauge\n${NAME} ${value}\n` });

  it('averages the metric over the healthy replicas', async () => {
    answers.set(ports[0]!, good(2));
    answers.set(ports[1]!, good(6));
    const source = new CustomMetricSource();
    const { observation, problems } = await source.observe([replica(0), replica(1)], NAME);
    expect(observation).toEqual({ kind: 'custom', average: 4, replicas: 2 });
    expect(problems).toEqual([]);
  });

  it('keeps the last good value of a replica that answers garbage, a 500, or times out', async () => {
    const source = new CustomMetricSource(undefined, 1_000);
    answers.set(ports[0]!, good(10));
    answers.set(ports[1]!, good(20));
    answers.set(ports[2]!, good(30));
    await source.observe([replica(0), replica(1), replica(2)], NAME);
    answers.set(ports[0]!, { status: 200, body: '<html>oops</html>' });
    answers.set(ports[1]!, { status: 500, body: 'internal error' });
    answers.set(ports[2]!, { ...good(99), delayMs: 4_000 });
    const { observation, problems } = await source.observe([replica(0), replica(1), replica(2)], NAME);
    expect(observation).toEqual({ kind: 'custom', average: 20, replicas: 3 });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/r0: \/metrics has no metric .*kept its last value 10/);
    expect(problems.join('\n')).toMatch(/r1: \/metrics answered 500; kept its last value 20/);
    expect(problems.join('\n')).toMatch(/r2: \/metrics timed out; kept its last value 30/);
  });

  it('is unavailable, saying why, when no replica ever answered', async () => {
    const source = new CustomMetricSource(undefined, 1_000);
    answers.set(ports[0]!, { status: 200, body: 'not prometheus at all' });
    const dead = replica(1, await unusedPort());
    const { observation } = await source.observe([replica(0), dead], NAME);
    expect(observation.kind).toBe('unavailable');
    if (observation.kind !== 'unavailable') return;
    expect(observation.why).toMatch(/no replica answered with vllm:num_requests_running/);
    expect(observation.why).toMatch(/r0: \/metrics has no metric/);
    expect(observation.why).toMatch(/r1: \/metrics failed \(ECONNREFUSED\); left out/);
  });

  it('is unavailable with no ready replica, and forgets replicas that left', async () => {
    const source = new CustomMetricSource();
    answers.set(ports[0]!, good(5));
    await source.observe([replica(0)], NAME);
    const { observation } = await source.observe([], NAME);
    expect(observation).toEqual({ kind: 'unavailable', why: 'no ready replica to scrape' });
    answers.set(ports[0]!, { status: 503, body: '' });
    const again = await source.observe([replica(0)], NAME);
    expect(again.observation.kind).toBe('unavailable'); // its old value was forgotten when it left
  });
});

async function unusedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

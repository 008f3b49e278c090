import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { Endpoint } from '../discovery/discovery.js';
import type { Observation } from './strategy.js';

/** How long one scrape may take (a synchronous worker blocks /metrics while it predicts, §8.28). */
export const SCRAPE_TIMEOUT_MS = 2_000;

/** Reads a replica's `/metrics` text; rejects on a network error, a timeout or a non-2xx status. */
export type MetricsFetcher = (url: string, timeoutMs: number) => Promise<string>;

export const fetchMetricsText: MetricsFetcher = async (url, timeoutMs) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) throw new Error(`answered ${res.status}`);
  return text;
};

/**
 * The value of one metric in Prometheus text exposition, summed over its label sets. Throws with a
 * reason when the text does not parse, lacks the metric, or holds a value that is not a finite number.
 */
export function metricValue(text: string, name: string): number {
  // The parser drops a last line without its newline; exposition text ends with one anyway.
  const families = parsePrometheusTextFormat(text.endsWith('\n') ? text : `${text}\n`);
  const family = families.find((f) => f.name === name);
  if (!family || family.metrics.length === 0) throw new Error(`has no metric ${name}`);
  let sum = 0;
  for (const sample of family.metrics) {
    const value = Number(sample.value);
    if (sample.value === undefined || sample.value.trim() === '' || !Number.isFinite(value)) {
      throw new Error(`has ${name} = ${JSON.stringify(sample.value ?? null)}, not a finite number`);
    }
    sum += value;
  }
  return sum;
}

/**
 * CustomMetric's measurement (compat.md §6, §8.16, §8.28): the metric scraped from each healthy replica's
 * `/metrics` and averaged. A replica whose scrape fails (down, timed out, garbage) counts with its last
 * good value; one that never answered is left out. Keeps per-replica memory, so one per deployment.
 */
export class CustomMetricSource {
  private readonly last = new Map<string, number>();

  constructor(private readonly fetcher: MetricsFetcher = fetchMetricsText, private readonly timeoutMs = SCRAPE_TIMEOUT_MS) {}

  /** The observation from the healthy replicas, and what went wrong with which (empty when every scrape worked). */
  async observe(ready: Endpoint[], name: string): Promise<{ observation: Observation; problems: string[] }> {
    this.forgetAllBut(new Set(ready.map((r) => r.replicaId)));
    const results = await Promise.all(ready.map((r) => this.scrape(r, name)));
    const problems = results.flatMap((r) => (r.problem ? [r.problem] : []));
    const values = results.flatMap((r) => (r.value === undefined ? [] : [r.value]));
    if (values.length === 0) {
      const why = ready.length === 0 ? 'no ready replica to scrape' : `no replica answered with ${name}: ${problems.join('; ')}`;
      return { observation: { kind: 'unavailable', why }, problems };
    }
    const average = values.reduce((a, b) => a + b, 0) / values.length;
    return { observation: { kind: 'custom', average, replicas: values.length }, problems };
  }

  private async scrape(replica: Endpoint, name: string): Promise<{ value?: number; problem?: string }> {
    const url = `http://${replica.address.host}:${replica.address.port}/metrics`;
    try {
      const value = metricValue(await this.fetcher(url, this.timeoutMs), name);
      this.last.set(replica.replicaId, value);
      return { value };
    } catch (err) {
      const kept = this.last.get(replica.replicaId);
      const tail = kept === undefined ? 'left out' : `kept its last value ${kept}`;
      return { value: kept, problem: `replica ${replica.replicaId}: /metrics ${describe(err)}; ${tail}` };
    }
  }

  private forgetAllBut(live: Set<string>): void {
    for (const id of this.last.keys()) if (!live.has(id)) this.last.delete(id);
  }
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ? `failed (${e.cause.code})` : (e.message ?? String(err));
}

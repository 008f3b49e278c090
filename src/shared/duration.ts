const UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a Go-style duration (`5s`, `500ms`, `1m30s`, `1.5h`) into milliseconds, as the Sprocket worker
 * sends its long-poll `timeout` (compat.md §8.23). A bare number is taken as seconds. Returns undefined
 * for anything else.
 */
export function parseGoDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) return undefined;
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS_MS[p[2]!]!, 0);
}

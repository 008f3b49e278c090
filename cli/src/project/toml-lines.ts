/**
 * Finds the line of a key in TOML text, so a validation error can say `file:line`. smol-toml gives lines
 * only for syntax errors; for a schema error we scan the text for the table headers and `key =` lines.
 * Good enough for hand-written config files: dotted keys and quoted keys are understood; inline tables
 * report the line of the key that holds them.
 */
export function lineOfKey(text: string, keyPath: string[]): number | undefined {
  const want = keyPath.filter((k) => !/^\d+$/.test(k)).join('.');
  let table: string[] = [];
  let best: { line: number; depth: number } | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const header = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(lines[i]!);
    const assign = header ? undefined : /^\s*([A-Za-z0-9_\-."' ]+?)\s*=/.exec(lines[i]!);
    const parts = header ? splitKey(header[1]!) : assign ? [...table, ...splitKey(assign[1]!)] : undefined;
    if (header) table = parts!;
    if (!parts) continue;
    const full = parts.join('.');
    if (full === want) return i + 1;
    if (want.startsWith(`${full}.`) && (!best || parts.length > best.depth)) best = { line: i + 1, depth: parts.length };
  }
  return best?.line;
}

function splitKey(key: string): string[] {
  return key.split('.').map((part) => part.trim().replace(/^["']|["']$/g, ''));
}

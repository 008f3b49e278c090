/** How long the rest of a listing is kept for the next page of its scan. */
const CURSOR_TTL_MS = 30_000;
/** Scans followed at once (each holds one listing); the oldest is forgotten beyond this. */
const MAX_CURSORS = 16;

interface Cursor {
  names: string[];
  keptAt: number;
}

/**
 * The key names a page listed but did not return, by prefix and the last key the page returned (the
 * `after` its scan asks the next page with). Taken once; forgotten after CURSOR_TTL_MS, so a scan that
 * pauses longer, or a cursor nobody continues, lists afresh.
 */
export class ScanCursors {
  private readonly cursors = new Map<string, Cursor>();

  keep(prefix: string, after: string, names: string[]): void {
    this.forgetStale();
    this.cursors.set(cursorKey(prefix, after), { names, keptAt: performance.now() });
    if (this.cursors.size > MAX_CURSORS) this.cursors.delete(this.cursors.keys().next().value!);
  }

  /** The names kept for the page after `after`, or undefined when the next page must list again. */
  take(prefix: string, after: string | undefined): string[] | undefined {
    if (after === undefined) return undefined;
    const key = cursorKey(prefix, after);
    const cursor = this.cursors.get(key);
    this.cursors.delete(key);
    return cursor && performance.now() - cursor.keptAt <= CURSOR_TTL_MS ? cursor.names : undefined;
  }

  private forgetStale(): void {
    const now = performance.now();
    for (const [key, cursor] of this.cursors) if (now - cursor.keptAt > CURSOR_TTL_MS) this.cursors.delete(key);
  }
}

function cursorKey(prefix: string, after: string): string {
  return `${prefix}\u0000${after}`;
}

import { closeSync, openSync, rmSync } from 'node:fs';

/**
 * Marker files in the working directory, as the vendor's worker keeps them (compat.md §3.2, §3.8):
 * removed at start, `.shutdown_requested` on SIGTERM, `.shutdown_now` once the last job is done,
 * `.fatal_error` when a predict timed out.
 */
export const SHUTDOWN_REQUESTED = '.shutdown_requested';
export const SHUTDOWN_NOW = '.shutdown_now';
export const FATAL_ERROR = '.fatal_error';

export function removeMarkers(): void {
  for (const name of [SHUTDOWN_NOW, SHUTDOWN_REQUESTED, FATAL_ERROR]) rmSync(name, { force: true });
}

/** Creates a marker; a read-only working directory is not an error (the marker is informational). */
export function touchMarker(name: string): void {
  try {
    closeSync(openSync(name, 'a'));
  } catch {
    // informational only
  }
}

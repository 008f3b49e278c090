/** What the CLI prints: the original's glyphs (compat.md §1.1), JSON, and a spinner for long waits. */

export const glyph = {
  check: '\u2713',
  cross: '\u2717',
  info: '\u2139',
  warn: '\u26a0',
  rocket: '\u{1F680}',
  trash: '\u{1F5D1}',
  fire: '\u{1F525}',
  extinguisher: '\u{1F9EF}',
  package: '\u{1F4E6}',
  hourglass: '\u23f3',
} as const;

/** Where a command writes; tests and the main program pass process streams. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
  /** Whether stdout is a terminal (spinners and `\r` progress only then). */
  isTty: boolean;
}

export function processOutput(): Output {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    isTty: Boolean(process.stdout.isTTY),
  };
}

/** JSON as the original prints raw responses: two-space indent. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export interface Spinner {
  text(message: string): void;
  stop(): void;
}

/**
 * An ora spinner on a terminal; silent elsewhere (logs and tests get the plain lines only). ora redraws
 * itself around lines other code prints meanwhile. A terminal that reports no width (some CI ptys) gets
 * no spinner: ora cannot count the lines it must clear there.
 */
export async function startSpinner(output: Output, message: string): Promise<Spinner> {
  if (!output.isTty || !((process.stdout.columns ?? 0) > 0)) return { text: () => undefined, stop: () => undefined };
  const { default: ora } = await import('ora');
  const spinner = ora({ text: message, stream: process.stdout }).start();
  return { text: (m) => (spinner.text = m), stop: () => spinner.stop() };
}
